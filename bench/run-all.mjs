// Runs every benchmark in this folder, one after another (each also runs alone).
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

for (const file of readdirSync(new URL('.', import.meta.url)).filter(
  (f) => f.endsWith('.mjs') && f !== 'run-all.mjs',
)) {
  console.log(`\n# ${file}`);
  execFileSync(process.execPath, [new URL(file, import.meta.url).pathname], { stdio: 'inherit' });
}
