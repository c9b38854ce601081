// Several servers on one PostgreSQL database, end to end: BUILT servers (`apps/server/dist/main.js`)
// as child processes on 127.0.0.1, each with its own home, all on one DAGs directory and one
// database, driven over HTTP. Measures
//   1. completed one-step runs per second through POST /api/v2/dags/{f}/start by 8 concurrent
//      clients (each polls its run every 10 ms until it is finished), with one server, then with
//      two servers on the same database (the clients spread over both);
//   2. enqueue → first step running: sequential POST …/enqueue alternately through both servers,
//      from the moment the request is sent to the step's recorded start (its startedAt in the
//      store, in ms: the moment the engine runs it, as bench/queue measures on SQLite), and to
//      the wall-clock time the step (`date +%s%N`) printed, which adds this machine's cost of
//      forking a shell and `date` (measured alone, as "spawn floor"); the same on one SQLite
//      server, side by side;
//   3. slot freed by another process → next queued run's first step running: a process that does
//      not dispatch queues (as `dagu-ts start`) runs a maxActiveRuns 1 DAG while a run of it
//      waits, enqueued through a server; from the recorded end of the first run to the waiting
//      run's step start (it starts on whichever server the notification wakes first);
//   4. p50/p95 of GET /dag-runs (today's runs, its default page of 100) and GET /dags/{f}/dag-runs (a DAG's last
//      30 runs) with N runs of 500 DAGs in the database (filled with importRuns, 1 % of them today).
// Run after a build: `node bench/postgres-servers.mjs [runs] [historyRuns]` (defaults 400 and
// 1,000,000). The database: DAGU_BENCH_DATABASE_URL=postgres://… (an empty database), else a
// throw-away PostgreSQL server started with @dagu-ts/testing's helper (PostgreSQL binaries under
// /usr/lib/postgresql/*/bin). Compare with the SQLite figures of `node bench/api.mjs`.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { register } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DagRunStatus, NodeStatus, loadDag, parseDag } from '../packages/core/dist/index.js';
import { openStore } from '../packages/store/dist/index.js';
import { openPostgresStore } from '../packages/store/dist/postgres/index.js';

const MAIN = fileURLToPath(new URL('../apps/server/dist/main.js', import.meta.url));
const throughputRuns = Number(process.argv[2] ?? 400);
const historyRuns = Number(process.argv[3] ?? 1_000_000);
const clients = 8;
const latencyRuns = 100;
const freedRuns = 50;
const historyDags = 500;
const listingSamples = 200;
const batchSize = 10_000;
const TERMINAL = new Set([
  DagRunStatus.Failed,
  DagRunStatus.Canceled,
  DagRunStatus.Success,
  DagRunStatus.PartialSuccess,
]);

const work = mkdtempSync(join(tmpdir(), 'dagu-bench-pg-servers-'));
const dagsDir = join(work, 'dags');
const agent = new Agent({ keepAlive: true, maxSockets: 32 });
const servers = []; // { child, api, exited }
let postgres; // the throw-away server, when this bench started one

const wallMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const must = (condition, message) => {
  if (!condition) throw new Error(`bench sanity check failed: ${message}`);
};

// ---- the database ----------------------------------------------------------------------------

async function openDatabase() {
  if (process.env.DAGU_BENCH_DATABASE_URL) return process.env.DAGU_BENCH_DATABASE_URL;
  // @dagu-ts/testing is TypeScript that is never built: load it as the tests' child processes do.
  register('../packages/store/src/test-fixtures/ts-hooks.mjs', import.meta.url);
  const { startPostgres, createTestDatabase } =
    await import('../packages/testing/src/postgres-server.ts');
  postgres = await startPostgres();
  return (await createTestDatabase(postgres.url)).url;
}

// ---- the servers -----------------------------------------------------------------------------

/** A built server; on SQLite under its own home when `databaseUrl` is undefined. */
function startServer(databaseUrl) {
  const home = join(work, `home-${servers.length + 1}`);
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('DAGU_')),
  );
  const child = spawn(process.execPath, [MAIN, '--port', '0', '--host', '127.0.0.1'], {
    env: {
      ...env,
      DAGU_HOME: home,
      DAGU_DAGS_DIR: dagsDir,
      ...(databaseUrl ? { DAGU_DATABASE_URL: databaseUrl } : {}),
      DAGU_SKIP_EXAMPLES: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; ${stderr}`)), 60_000);
    let buffered = '';
    child.stdout.on('data', (chunk) => {
      buffered += chunk.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        let entry;
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === 'listening') {
          clearTimeout(timer);
          const server = { child, api: new URL(entry.api), exited, home };
          servers.push(server);
          resolve(server);
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening; stderr: ${stderr}`));
    }, reject);
  });
}

async function stopServers() {
  for (const { child, exited } of servers.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    if ((await Promise.race([exited, sleep(15_000).then(() => 'timeout')])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }
}

/** One JSON request to a server's API; rejects on a non-2xx status. */
function call(server, method, path, body) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: server.api.hostname,
        port: server.api.port,
        method,
        path: `${server.api.pathname}${path}`,
        headers: {
          Accept: 'application/json',
          ...(payload !== undefined
            ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode < 200 || res.statusCode >= 300) {
            const error = new Error(`${method} ${path}: HTTP ${res.statusCode} ${text}`);
            error.status = res.statusCode;
            reject(error);
            return;
          }
          try {
            resolve(text ? JSON.parse(text) : {});
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function waitFinished(server, name, dagRunId) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const { dagRunDetails } = await call(server, 'GET', `/dag-runs/${name}/${dagRunId}`);
      if (TERMINAL.has(dagRunDetails.status)) return dagRunDetails;
    } catch (error) {
      if (error.status !== 404) throw error;
    }
    if (Date.now() > deadline) throw new Error(`run ${name}/${dagRunId} did not finish in 60 s`);
    await sleep(10);
  }
}

/** The wall-clock ms at which the run's `date +%s%N` step printed. */
async function stampOf(server, name, dagRunId) {
  const { content } = await call(server, 'GET', `/dag-runs/${name}/${dagRunId}/steps/stamp/log`);
  const stamp = /^\s*(\d{16,})\s*$/.exec(content ?? '');
  must(stamp, `step stdout is nanoseconds since the epoch, got ${JSON.stringify(content)}`);
  return Number(BigInt(stamp[1]) / 1000n) / 1000;
}

// ---- 1. throughput ---------------------------------------------------------------------------

async function throughput(through) {
  const name = 'bench-one-step';
  let started = 0;
  let failed = 0;
  const client = async (c) => {
    const server = through[c % through.length];
    while (started < throughputRuns) {
      started++;
      const { dagRunId } = await call(server, 'POST', `/dags/${name}/start`, {});
      const details = await waitFinished(server, name, dagRunId);
      if (details.status !== DagRunStatus.Success) failed++;
    }
  };
  const at = performance.now();
  await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
  const seconds = (performance.now() - at) / 1000;
  must(failed === 0, `${failed} of ${throughputRuns} one-step runs did not succeed`);
  return throughputRuns / seconds;
}

// ---- 2. enqueue → first step running ---------------------------------------------------------

/** The wall-clock ms at which the run's first step started, as the store recorded it. */
async function startedAtOf(reader, name, dagRunId) {
  const stored = await reader.runs.getRun(name, dagRunId);
  const startedAt = Date.parse(stored?.snapshot.nodes[0]?.startedAt ?? '');
  must(Number.isFinite(startedAt), `run ${dagRunId} has a recorded step start`);
  return startedAt;
}

/** From the request to the step's recorded start, and to the moment the step printed. */
async function enqueueToStep(through, reader) {
  const name = 'bench-stamp';
  const started = [];
  const printed = [];
  for (let i = 0; i < latencyRuns; i++) {
    const server = through[i % through.length];
    const sentAt = wallMs();
    const { dagRunId } = await call(server, 'POST', `/dags/${name}/enqueue`, {});
    const details = await waitFinished(server, name, dagRunId);
    must(details.status === DagRunStatus.Success, `stamp run ${dagRunId} succeeded`);
    started.push((await startedAtOf(reader, name, dagRunId)) - sentAt);
    printed.push((await stampOf(server, name, dagRunId)) - sentAt);
  }
  return { started, printed };
}

/** This machine's cost of forking a shell that runs `date`, from a Node process, to its print. */
async function spawnFloor() {
  const latencies = [];
  for (let i = 0; i < latencyRuns; i++) {
    const sentAt = wallMs();
    const output = await new Promise((resolve, reject) => {
      let text = '';
      const child = spawn('sh', ['-c', 'date +%s%N'], { stdio: ['ignore', 'pipe', 'ignore'] });
      child.stdout.on('data', (chunk) => (text += chunk));
      child.once('error', reject);
      child.once('close', () => resolve(text));
    });
    latencies.push(Number(BigInt(output.trim()) / 1000n) / 1000 - sentAt);
  }
  return latencies;
}

// ---- 3. a slot freed by another process ------------------------------------------------------

async function freedToStep(through, databaseUrl) {
  // The process that frees the slot: a composition that does not dispatch queues, as
  // `dagu-ts start` builds it, in this bench's process.
  const { composeDagu, loadConfig } = await import('../apps/server/dist/index.js');
  const cli = await composeDagu(
    loadConfig({
      env: {
        DAGU_HOME: join(work, 'home-cli'),
        DAGU_DAGS_DIR: dagsDir,
        DAGU_DATABASE_URL: databaseUrl,
      },
    }),
    { dispatchQueues: false, spawnHelper: false },
  );
  const name = 'bench-gate';
  const dag = await loadDag(join(dagsDir, `${name}.yaml`));
  const latencies = [];
  try {
    for (let i = 0; i < freedRuns; i++) {
      const first = await cli.launcher.start(dag, { trigger: 'cli' });
      must(!first.queued, 'the gate run starts in the non-dispatching process');
      const server = through[i % through.length];
      const { dagRunId } = await call(server, 'POST', `/dags/${name}/enqueue`, {});
      await waitFinished(server, name, first.dagRunId);
      const next = await waitFinished(server, name, dagRunId);
      must(next.status === DagRunStatus.Success, `gate run ${dagRunId} succeeded`);
      // The API shows times to the second; the store keeps milliseconds.
      const ended = (await cli.store.runs.getRun(name, first.dagRunId)).snapshot.finishedAt;
      latencies.push((await startedAtOf(cli.store, name, dagRunId)) - Date.parse(ended));
    }
  } finally {
    await cli.close();
  }
  return latencies;
}

// ---- 4. history ------------------------------------------------------------------------------

function runId(ms, i) {
  const hex =
    ms.toString(16).padStart(12, '0') + (i * 2654435761).toString(16).padStart(20, '0').slice(-20);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function statusOf(i) {
  const r = (i * 7919) % 100;
  if (r < 85) return DagRunStatus.Success;
  if (r < 95) return DagRunStatus.Failed;
  if (r < 99) return DagRunStatus.Canceled;
  return DagRunStatus.PartialSuccess;
}

function snapshot(dag, dagRunId, status, at) {
  const ok = status === DagRunStatus.Success;
  return {
    name: dag.name,
    dagRunId,
    attemptId: dagRunId.slice(-6),
    root: { name: dag.name, dagRunId },
    parent: undefined,
    status,
    pid: 1,
    queuedAt: '',
    startedAt: at,
    finishedAt: at,
    log: '',
    params: '',
    paramsList: [],
    nodes: dag.steps.map((step) => ({
      step,
      status: ok ? NodeStatus.Success : NodeStatus.Failed,
      stdout: '',
      stderr: '',
      startedAt: at,
      finishedAt: at,
      retriedAt: '',
      retryCount: 0,
      doneCount: 1,
      repeated: false,
      exitCode: ok ? 0 : 1,
      error: ok ? '' : 'exit status 1',
      preconditions: [],
      children: [],
      childrenRepeated: [],
      outputs: {},
    })),
    handlers: {},
    preconditions: [],
    error: ok ? '' : 'exit status 1',
  };
}

const historyYaml =
  'steps:\n  - name: step0\n    command: echo 0\n  - name: step1\n    command: echo 1\n  - name: step2\n    command: echo 2\n';

/** `historyRuns` runs of `historyDags` DAGs over 100 days, the last day today (as bench/api.mjs). */
async function fillHistory(databaseUrl) {
  const { openPostgresStore } = await import('../packages/store/dist/postgres/index.js');
  const store = await openPostgresStore({
    url: databaseUrl,
    home: join(work, 'home-fill'),
    reapAbandoned: false,
  });
  const dags = Array.from({ length: historyDags }, (_, i) =>
    parseDag(historyYaml, { name: `hist-${String(i).padStart(3, '0')}` }),
  );
  const now = Date.now();
  const midnight = new Date(now);
  midnight.setUTCHours(0, 0, 0, 0);
  const today = midnight.getTime();
  const todaySpan = Math.max(1, now - 1000 - today);
  const days = 100;
  const perDay = historyRuns / days;
  const at = performance.now();
  try {
    for (let first = 0; first < historyRuns; first += batchSize) {
      const batch = [];
      for (let i = first; i < Math.min(first + batchSize, historyRuns); i++) {
        const dag = dags[i % historyDags];
        const day = Math.floor(i / perDay);
        const within = (i - day * perDay) / perDay;
        const ms =
          day === days - 1
            ? today + Math.floor(within * todaySpan)
            : today - (days - 1 - day) * 86_400_000 + Math.floor(within * 86_400_000);
        batch.push({
          dag,
          snapshot: snapshot(dag, runId(ms, i), statusOf(i), new Date(ms).toISOString()),
          trigger: 'schedule',
        });
      }
      await store.runs.importRuns(batch);
    }
  } finally {
    await store.close();
  }
  writeFileSync(join(dagsDir, `${dags[0].name}.yaml`), historyYaml);
  return { seconds: (performance.now() - at) / 1000, fileName: dags[0].name };
}

async function measureGet(server, path, check) {
  for (let i = 0; i < 20; i++) await call(server, 'GET', path);
  const times = [];
  let last;
  for (let i = 0; i < listingSamples; i++) {
    const t = performance.now();
    last = await call(server, 'GET', path);
    times.push(performance.now() - t);
  }
  check(last);
  return { p50: percentile(times, 50), p95: percentile(times, 95), last };
}

// ---- main ------------------------------------------------------------------------------------

const ms = (values) =>
  `${percentile(values, 50).toFixed(2)} / ${percentile(values, 95).toFixed(2)} ms`;

async function main() {
  mkdirSync(dagsDir, { recursive: true });
  writeFileSync(
    join(dagsDir, 'bench-one-step.yaml'),
    'maxActiveRuns: -1\nsteps:\n  - name: one\n    command: "true"\n',
  );
  writeFileSync(
    join(dagsDir, 'bench-stamp.yaml'),
    'maxActiveRuns: 8\nsteps:\n  - name: stamp\n    command: "date +%s%N"\n',
  );
  writeFileSync(
    join(dagsDir, 'bench-gate.yaml'),
    'maxActiveRuns: 1\nsteps:\n  - name: stamp\n    command: "date +%s%N"\n  - name: hold\n    command: sleep 0.05\n',
  );
  const databaseUrl = await openDatabase();

  // 1. one server, then two
  const a = await startServer(databaseUrl);
  await call(a, 'POST', '/dags/bench-one-step/start', {}); // warm-up
  const oneServer = await throughput([a]);
  const b = await startServer(databaseUrl);
  await call(b, 'POST', '/dags/bench-one-step/start', {});
  const twoServers = await throughput([a, b]);

  // 2., 3.
  const reader = await openPostgresStore({
    url: databaseUrl,
    home: join(work, 'home-reader'),
    dagsDir,
    reapAbandoned: false,
  });
  const enqueueLatency = await enqueueToStep([a, b], reader);
  await reader.close();
  const freedLatency = await freedToStep([a, b], databaseUrl);
  const sqlite = await startServer(undefined);
  await call(sqlite, 'POST', '/dags/bench-one-step/start', {});
  const sqliteReader = openStore({ home: sqlite.home, dagsDir });
  const sqliteLatency = await enqueueToStep([sqlite], sqliteReader);
  sqliteReader.close();
  servers.splice(servers.indexOf(sqlite), 1);
  sqlite.child.kill('SIGTERM');
  await sqlite.exited;
  const floor = await spawnFloor();

  // 4. (the servers are idle meanwhile)
  const fill = await fillHistory(databaseUrl);
  // The default page of GET /dag-runs is 100 runs of today.
  const expectedToday = Math.min(100, Math.ceil(historyRuns / 100));
  const all = await measureGet(b, '/dag-runs', ({ dagRuns }) =>
    must(
      Array.isArray(dagRuns) && dagRuns.length >= expectedToday - 1,
      `GET /dag-runs lists today's runs (got ${dagRuns?.length})`,
    ),
  );
  const perDag = await measureGet(a, `/dags/${fill.fileName}/dag-runs`, ({ dagRuns }) =>
    must(
      Array.isArray(dagRuns) && dagRuns.length === Math.min(30, historyRuns / historyDags),
      `GET /dags/${fill.fileName}/dag-runs lists the last 30 runs (got ${dagRuns?.length})`,
    ),
  );
  await stopServers();

  const rows = [
    [
      `enqueue → first step started (${latencyRuns} runs, both servers), p50 / p95`,
      ms(enqueueLatency.started),
      'p95 ≤ 20 ms',
      percentile(enqueueLatency.started, 95) <= 20,
    ],
    [
      `slot freed by another process → next run's step started (${freedRuns}), p50 / p95`,
      ms(freedLatency),
      'p95 ≤ 20 ms',
      percentile(freedLatency, 95) <= 20,
    ],
    [
      `GET /dag-runs (${all.last.dagRuns.length} of today's runs), p50 / p95`,
      `${all.p50.toFixed(2)} / ${all.p95.toFixed(2)} ms`,
      'p95 ≤ 20 ms',
      all.p95 <= 20,
    ],
    [
      `GET /dags/${fill.fileName}/dag-runs (last ${perDag.last.dagRuns.length}), p50 / p95`,
      `${perDag.p50.toFixed(2)} / ${perDag.p95.toFixed(2)} ms`,
      'p95 ≤ 20 ms',
      perDag.p95 <= 20,
    ],
  ];
  const info = [
    [`enqueue → first step printed (same runs), p50 / p95`, ms(enqueueLatency.printed)],
    [
      `same on one SQLite server: enqueue → step started / printed, p50 / p95`,
      `${ms(sqliteLatency.started)} / ${ms(sqliteLatency.printed)}`,
    ],
    [`spawn floor: Node forks sh -c 'date +%s%N' → printed, p50 / p95`, ms(floor)],
    [
      `completed one-step runs/s, one server (${throughputRuns} runs, ${clients} clients)`,
      `${oneServer.toFixed(1)} /s`,
    ],
    [
      `completed one-step runs/s, two servers on one database (${throughputRuns} runs)`,
      `${twoServers.toFixed(1)} /s`,
    ],
    [
      `history fill (${historyRuns.toLocaleString('en')} runs, ${historyDags} DAGs, importRuns)`,
      `${fill.seconds.toFixed(1)} s (${Math.round(historyRuns / fill.seconds).toLocaleString('en')} runs/s)`,
    ],
  ];
  console.log(
    `postgres-servers: built servers on 127.0.0.1 and one PostgreSQL database, ${process.version}, ` +
      `${historyRuns.toLocaleString('en')} runs in the history for the listings (${listingSamples} samples each)`,
  );
  const width = Math.max(...[...rows, ...info].map((r) => r[0].length));
  const figureWidth = Math.max(...[...rows, ...info].map((r) => r[1].length));
  console.log(`${'measure'.padEnd(width)}  ${'figure'.padEnd(figureWidth)}  target`);
  for (const [label, figure, target, ok] of rows)
    console.log(
      `${label.padEnd(width)}  ${figure.padEnd(figureWidth)}  ${target.padEnd(11)}  ${ok ? 'ok' : 'MISSED'}`,
    );
  console.log('-- for information');
  for (const [label, figure] of info) console.log(`${label.padEnd(width)}  ${figure}`);
  process.exitCode = rows.every((row) => row[3]) ? 0 : 1;
}

const cleanUp = async () => {
  try {
    await stopServers();
  } finally {
    agent.destroy();
    postgres?.stop();
    rmSync(work, { recursive: true, force: true });
  }
};
for (const signal of ['SIGINT', 'SIGTERM'])
  process.once(signal, () => {
    for (const { child } of servers) child.kill('SIGKILL');
    postgres?.stop();
    rmSync(work, { recursive: true, force: true });
    process.exit(130);
  });

try {
  await main();
} catch (error) {
  for (const { child } of servers) child.kill('SIGKILL');
  process.exitCode = 1;
  console.error(error);
} finally {
  await cleanUp();
}
