// The published shape of the CLI: `pnpm pack` of @dagu-ts/cli and every workspace package it
// needs, one `npm install` of those tarballs into an empty directory (no workspace around it),
// then that install's `dagu-ts start-all` serves the API and its `dagu-ts worker` joins it and
// runs a DAG whose workerSelector only the worker matches (issue #16, "Done when").
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cliEnv, repoRoot } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-npm-pack-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  dependencies?: Record<string, string>;
}
const readManifest = (dir: string) =>
  JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

/** The workspace directories of @dagu-ts/cli and of every workspace package it depends on. */
function packageClosure(): string[] {
  const dirs = new Map<string, string>();
  for (const group of ['packages', 'apps'])
    for (const name of readdirSync(join(repoRoot, group))) {
      const dir = join(repoRoot, group, name);
      if (existsSync(join(dir, 'package.json'))) dirs.set(readManifest(dir).name, dir);
    }
  const needed = new Set<string>();
  const visit = (name: string) => {
    if (needed.has(name)) return;
    const dir = dirs.get(name);
    if (!dir) throw new Error(`${name} is not a workspace package`);
    const manifest = readManifest(dir);
    expect(manifest.private, `${name} is needed by the CLI but private`).not.toBe(true);
    needed.add(name);
    for (const [dep, range] of Object.entries(manifest.dependencies ?? {}))
      if (range.startsWith('workspace:')) visit(dep);
  };
  visit('@dagu-ts/cli');
  return [...needed].map((name) => dirs.get(name)!);
}

const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env) =>
  execFileSync(cmd, args, { cwd, env, stdio: 'pipe', encoding: 'utf8' });

/**
 * better-sqlite3 from the workspace's own compiled binary, laid out as a prebuild-install
 * tarball: with it `npm rebuild better-sqlite3` needs neither GitHub (its prebuilds) nor a C++
 * compiler and minutes of build. Only when the versions match; otherwise the rebuild compiles.
 */
function localPrebuilds(installed: string): string | undefined {
  const require = createRequire(join(repoRoot, 'packages/store/package.json'));
  const ours = join(require.resolve('better-sqlite3/package.json'), '..');
  const version = readManifest(ours).version;
  if (readManifest(installed).version !== version) return undefined;
  const stage = join(work, 'prebuild-stage');
  mkdirSync(join(stage, 'build/Release'), { recursive: true });
  writeFileSync(
    join(stage, 'build/Release/better_sqlite3.node'),
    readFileSync(join(ours, 'build/Release/better_sqlite3.node')),
  );
  const dir = join(work, 'prebuilds');
  mkdirSync(dir);
  // prebuild-install names musl builds `linuxmusl`; glibc ones have no suffix.
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  const libc = process.platform === 'linux' && !report.header?.glibcVersionRuntime ? 'musl' : '';
  const file = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}${libc}-${process.arch}.tar.gz`;
  run('tar', ['czf', join(dir, file), '-C', stage, 'build'], work);
  return dir;
}

function spawnBin(bin: string, args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(bin, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

async function waitFor<T>(check: () => Promise<T | undefined>, what: () => string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('npm install of the packed CLI gives a dagu-ts whose start-all serves and whose worker joins', async () => {
  // pnpm (not npm) packs: it applies publishConfig and rewrites the workspace: ranges.
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  const filters = packageClosure().flatMap((dir) => ['--filter', readManifest(dir).name]);
  run(
    'npx',
    ['--yes', 'pnpm@10', '-r', ...filters, 'pack', '--pack-destination', tarballs],
    repoRoot,
  );
  const packed = readdirSync(tarballs);
  expect(packed).toContain('dagu-ts-cli-0.1.0.tgz');

  // One install of all the tarballs, so each @dagu-ts/* range resolves to its tarball. The
  // install scripts wait: ssh2's optional binding and cpu-features build with node-gyp for
  // minutes and are optional; better-sqlite3, which is not, is rebuilt next.
  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"packed-app","private":true}\n');
  run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      ...packed.map((file) => join(tarballs, file)),
    ],
    app,
  );
  const sqlite = join(app, 'node_modules/better-sqlite3');
  const prebuilds = localPrebuilds(sqlite);
  run('npm', ['rebuild', 'better-sqlite3'], app, {
    ...process.env,
    ...(prebuilds ? { npm_config_better_sqlite3_local_prebuilds: prebuilds } : {}),
  });
  // Nothing of ours comes from the workspace: every @dagu-ts package is the installed copy.
  for (const name of ['cli', 'server', 'worker', 'store', 'core', 'api', 'client'])
    expect(existsSync(join(app, 'node_modules/@dagu-ts', name, 'dist/index.js')), name).toBe(true);
  const dagutsBin = join(app, 'node_modules/.bin/dagu-ts');
  expect(existsSync(join(app, 'node_modules/.bin/dagu-ts-worker'))).toBe(true);

  const home = join(work, 'home');
  mkdirSync(join(home, 'dags'), { recursive: true });
  writeFileSync(
    join(home, 'dags/packed.yaml'),
    "workerSelector: {zone: packed}\nsteps:\n  - name: hello\n    command: sh -c 'echo hello-from-$WORKER_NAME'\n",
  );
  const token = 'packed-install-token';
  const server = spawnBin(dagutsBin, ['start-all', '--port', '0', '--host', '127.0.0.1'], {
    ...cliEnv(home),
    DAGU_AUTH_TOKEN: token,
  });
  const api = await waitFor(
    async () => /"api":"([^"]+)"/.exec(server.output())?.[1],
    () => `start-all to listen:\n${server.output()}`,
  );
  const call = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${api}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  const started = await call('POST', '/dags/packed/start', { dagRunId: 'p1' });
  expect(started.status, JSON.stringify(started.body)).toBe(200);
  const worker = spawnBin(
    dagutsBin,
    ['worker', '--worker.id', 'packed-worker', '--worker.labels', 'zone=packed'],
    {
      ...cliEnv(join(work, 'worker-home')),
      DAGU_SERVER_URL: api.replace(/\/api\/v2$/, ''),
      DAGU_AUTH_TOKEN: token,
      WORKER_NAME: 'packed-worker',
    },
  );
  const details = await waitFor(
    async () => {
      const { body } = await call('GET', '/dag-runs/packed/p1');
      const run = body.dagRunDetails as { statusLabel: string; workerId: string } | undefined;
      return run?.statusLabel === 'finished' ? run : undefined;
    },
    () => `the run to finish:\n${server.output()}\n${worker.output()}`,
  );
  expect(details.workerId).toBe('packed-worker');
  const log = await call('GET', '/dag-runs/packed/p1/steps/hello/log');
  expect(log.body.content).toContain('hello-from-packed-worker');
}, 110_000);
