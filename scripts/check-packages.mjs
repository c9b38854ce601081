// Packs every publishable package the way it would be published and checks the tarball with
// publint (strict) and "are the types wrong" (ESM-only profile).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: 'pipe', encoding: 'utf8' });
// pnpm (not npm) packs: it applies publishConfig and rewrites workspace: ranges.
const pnpm = (args, cwd) =>
  process.env.npm_execpath?.includes('pnpm')
    ? run(process.execPath, [process.env.npm_execpath, ...args], cwd)
    : run('npx', ['--yes', 'pnpm@10', ...args], cwd);
const bin = (name) => join(process.cwd(), 'node_modules', '.bin', name);
const packDir = mkdtempSync(join(tmpdir(), 'dagu-ts-pack-'));
let failed = 0;
try {
  // Libraries in packages/, and the apps that are published too (@dagu-ts/server).
  const dirs = ['packages', 'apps'].flatMap((root) => readdirSync(root).map((n) => join(root, n)));
  for (const dir of dirs) {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    try {
      pnpm(['pack', '--pack-destination', packDir], dir);
      const tarball = readdirSync(packDir).find((f) =>
        f.startsWith(manifest.name.replace('@', '').replace('/', '-')),
      );
      run(bin('publint'), ['run', '--strict', join(packDir, tarball)], '.');
      run(bin('attw'), ['--profile', 'esm-only', '--no-color', join(packDir, tarball)], '.');
      console.log(`ok   ${manifest.name}: publint --strict and attw pass`);
    } catch (error) {
      failed++;
      console.error(`FAIL ${manifest.name}\n${error.stdout ?? ''}${error.stderr ?? error.message}`);
    }
  }
} finally {
  rmSync(packDir, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
