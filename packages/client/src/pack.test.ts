// The published shape, end to end: `pnpm pack` the client, install the tarball into an empty
// npm project (no network: the package has no dependencies), type-check a TypeScript program
// that uses it with the repo's own tsc (browser-style libs, no @types/node, skipLibCheck off),
// then run the compiled program against a real server.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '@dagu-ts/testing';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repo = join(packageDir, '../..');
const tsc = join(repo, 'node_modules/typescript/bin/tsc');

// Asynchronous: the server under test lives in this process and must keep answering.
const execFileAsync = promisify(execFile);
const run = async (command: string, args: string[], cwd: string): Promise<string> =>
  (await execFileAsync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 })).stdout;

let server: TestServer;
let work: string;
beforeAll(async () => {
  server = await startTestServer();
  work = mkdtempSync(join(tmpdir(), 'dagu-client-pack-'));
});
afterAll(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});

const program = (baseUrl: string): string => `
import {
  DaguApiError,
  DaguNetworkError,
  DaguTimeoutError,
  createClient,
  type DAGFile,
  type HealthResponse,
} from '@dagu-ts/client';

type IsAny<T> = 0 extends 1 & T ? true : false;

const client = createClient({ baseUrl: ${JSON.stringify(baseUrl)}, timeoutMs: 5_000 });
const health: HealthResponse = await client.health();
const { dags, pagination } = await client.listDags({ perPage: 100 });
const first: DAGFile | undefined = dags[0];
const notAny: IsAny<typeof first> = false;
const status: 'healthy' | 'unhealthy' = health.status;
let missing = '';
try {
  await client.getDag('no-such-dag');
} catch (error) {
  if (error instanceof DaguApiError) missing = error.code;
  else if (error instanceof DaguNetworkError || error instanceof DaguTimeoutError) throw error;
}
// Dagu v1.30's operations: validate a spec, run it inline, see the queues.
const spec = 'name: packed-inline\\nsteps:\\n  - name: hello\\n    command: echo packed\\n';
const checked = await client.validateDagSpec({ spec });
const invalid = await client.validateDagSpec({ spec: 'steps:\\n  - name: a\\n    depends: nope\\n' });
const { dagRunId } = await client.executeDagRunFromSpec({ spec });
const inline = await client.waitForDagRun('packed-inline', dagRunId, { intervalMs: 50, timeoutMs: 20_000 });
const { queues, summary } = await client.listQueues();
const queueNames: string[] = queues.map((queue) => queue.name);
console.log(
  JSON.stringify({
    status,
    notAny,
    files: dags.map((dag) => dag.fileName),
    total: pagination.totalRecords,
    missing,
    valid: checked.valid,
    refused: !invalid.valid && invalid.errors.length > 0,
    inline: inline.statusLabel,
    queueNames,
    totalQueues: summary.totalQueues,
  }),
);
`;

it('installs from the packed tarball, type-checks and runs against the server', async () => {
  // The tarball is made from dist: bring it up to date first.
  await run(process.execPath, [tsc, '-b', packageDir], repo);
  const packDir = join(work, 'pack');
  await run('npx', ['--yes', 'pnpm@10', 'pack', '--pack-destination', packDir], packageDir);
  const tarball = join(
    packDir,
    readdirSync(packDir).find((file) => file.endsWith('.tgz'))!,
  );

  const files = (await run('tar', ['-tzf', tarball], work)).trim().split('\n').sort();
  expect(files).toContain('package/dist/index.js');
  expect(files).toContain('package/dist/index.d.ts');
  expect(files).toContain('package/dist/generated/api.d.ts');
  expect(files).toContain('package/README.md');
  expect(
    files.filter((file) => !/^package\/(dist\/|package\.json$|README\.md$)/.test(file)),
  ).toEqual([]);
  expect(files.some((file) => /\.test|testing\/|tsbuildinfo/.test(file))).toBe(false);

  const project = join(work, 'consumer');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  await run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball],
    project,
  );
  const manifest = JSON.parse(
    readFileSync(join(project, 'node_modules/@dagu-ts/client/package.json'), 'utf8'),
  ) as Record<string, unknown>;
  expect(manifest.dependencies ?? {}).toEqual({});
  expect(JSON.stringify(manifest)).not.toContain('workspace:');
  expect(JSON.stringify(manifest.exports)).not.toContain('@dagu-ts/source');
  expect(readdirSync(join(project, 'node_modules'))).toEqual(['.package-lock.json', '@dagu-ts']);

  writeFileSync(join(project, 'main.ts'), program(server.baseUrl));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2022', 'DOM'],
        types: [],
        strict: true,
        skipLibCheck: false,
        skipDefaultLibCheck: true,
        outDir: 'dist',
      },
      files: ['main.ts'],
    }),
  );
  let compileErrors = '';
  try {
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], project);
  } catch (error) {
    compileErrors = String((error as { stdout?: string }).stdout ?? error);
  }
  expect(compileErrors).toBe('');

  const output = JSON.parse(await run(process.execPath, ['dist/main.js'], project)) as {
    status: string;
    files: string[];
    missing: string;
    queueNames: string[];
    totalQueues: number;
  };
  expect(output).toMatchObject({
    status: 'healthy',
    notAny: false,
    missing: 'not_found',
    valid: true,
    refused: true,
    inline: 'finished',
  });
  expect(output.totalQueues).toBe(output.queueNames.length);
  expect(output.files).toEqual(expect.arrayContaining(['ci-build', 'sleeper']));

  // The README's runnable examples, against the installed package and the server.
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const examples = [...readme.matchAll(/```js\n(\/\/ ([\w-]+\.mjs)[^\n]*\n[\s\S]*?)```/g)].map(
    ([, code, file]) => ({ code: code!, file: file! }),
  );
  expect(examples.map((example) => example.file)).toEqual([
    'ci-deploy.mjs',
    'watch.mjs',
    'health.mjs',
  ]);
  const env = { ...process.env, DAGU_SERVER_URL: server.baseUrl, VERSION: 'v9.9.9' };
  const outputs: Record<string, string> = {};
  for (const { code, file } of examples) {
    writeFileSync(join(project, file), code);
    const result = await execFileAsync(process.execPath, [file], {
      cwd: project,
      env,
      encoding: 'utf8',
      timeout: 30_000,
    });
    outputs[file] = result.stdout;
  }
  expect(outputs['ci-deploy.mjs']).toMatch(/^deploy-app deploy-v9\.9\.9-\d+: finished$/m);
  expect(outputs['watch.mjs']).toMatch(/ended finished at \d{4}-/);
  expect(outputs['health.mjs']).toMatch(/^healthy \(version 9\.9\.9-client-test, up \d+ s\)$/m);
  const deployed = await server.store.runs.listRuns({ name: 'deploy-app' });
  expect(deployed.runs[0]?.params).toBe('version=v9.9.9 environment=production');
});
