// Runs the type-level tests of src/types.test-d.ts through tsc, so `vitest run` fails when the
// client's types regress (e.g. a result widening to `any`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const repo = fileURLToPath(new URL('../../../', import.meta.url));

it('src/types.test-d.ts type-checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dagu-client-types-'));
  try {
    const tsconfig = join(dir, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: join(repo, 'tsconfig.base.json'),
        compilerOptions: {
          composite: false,
          incremental: false,
          noEmit: true,
          declaration: false,
          declarationMap: false,
          typeRoots: [join(repo, 'node_modules/@types')],
        },
        files: [fileURLToPath(new URL('./types.test-d.ts', import.meta.url))],
      }),
    );
    let output = '';
    try {
      execFileSync(
        process.execPath,
        [join(repo, 'node_modules/typescript/bin/tsc'), '-p', tsconfig],
        {
          encoding: 'utf8',
          stdio: 'pipe',
        },
      );
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    expect(output).toBe('');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
