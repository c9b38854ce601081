// Run history at scale: fills a temporary SQLite store with 1,000,000 runs of 500 DAGs (batched
// transactions through SqliteRunStore.importRuns), then measures p50/p95 of the reads the API
// makes: latest run of a DAG, a DAG's last 30 runs, the cross-DAG list with a status filter and
// a date window, one run by id; plus, for information, larger listings (full snapshots and
// summaries) and the cost of recording one step event. Run after a build:
// `node bench/store.mjs [runs] [dags]`. Target: p95 ≤ 5 ms for each read.
// With DAGU_BENCH_DATABASE_URL=postgres://… the same on a PostgreSQL store (an empty database:
// the bench fills it; target p95 ≤ 20 ms, a network round trip per query).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DagRunStatus, NodeStatus, newDagRunId, parseDag } from '../packages/core/dist/index.js';
import { openStore } from '../packages/store/dist/index.js';

const totalRuns = Number(process.argv[2] ?? 1_000_000);
const dagCount = Number(process.argv[3] ?? 500);
const samples = 300;
const batchSize = 10_000;
const spanMs = 100 * 86_400_000; // the runs spread over 100 days
const start = Date.UTC(2024, 0, 1);

const databaseUrl = process.env.DAGU_BENCH_DATABASE_URL;
const targetMs = databaseUrl ? 20 : 5;
const dir = mkdtempSync(join(tmpdir(), 'dagu-bench-store-'));
const store = databaseUrl
  ? await (
      await import('../packages/store/dist/postgres/index.js')
    ).openPostgresStore({ url: databaseUrl, home: dir, reapAbandoned: false })
  : openStore({ home: dir });

function dagYaml(steps) {
  const lines = ['steps:'];
  for (let i = 0; i < steps; i++) lines.push(`  - name: step${i}`, `    command: echo ${i}`);
  return lines.join('\n');
}

const dags = Array.from({ length: dagCount }, (_, i) =>
  parseDag(dagYaml(3), { name: `dag-${String(i).padStart(3, '0')}` }),
);

function node(step, status, at) {
  return {
    step,
    status,
    stdout: '',
    stderr: '',
    startedAt: at,
    finishedAt: at,
    retriedAt: '',
    retryCount: 0,
    doneCount: 1,
    repeated: false,
    exitCode: status === NodeStatus.Success ? 0 : 1,
    error: status === NodeStatus.Success ? '' : 'exit status 1',
    preconditions: [],
    children: [],
    childrenRepeated: [],
    outputs: {},
  };
}

function snapshot(dag, dagRunId, status, at, pid = 1) {
  const nodeStatus = status === DagRunStatus.Success ? NodeStatus.Success : NodeStatus.Failed;
  return {
    name: dag.name,
    dagRunId,
    attemptId: dagRunId.slice(-6),
    root: { name: dag.name, dagRunId },
    parent: undefined,
    status,
    pid,
    queuedAt: '',
    startedAt: at,
    finishedAt: at,
    log: '',
    params: '',
    paramsList: [],
    nodes: dag.steps.map((step) => node(step, nodeStatus, at)),
    handlers: {},
    preconditions: [],
    error: status === DagRunStatus.Success ? '' : 'exit status 1',
  };
}

/** A UUID v7 for run `i` at `ms`, without the cost of random bytes per id. */
function runId(ms, i) {
  const hex =
    ms.toString(16).padStart(12, '0') + (i * 2654435761).toString(16).padStart(20, '0').slice(-20);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** 85 % success, 10 % failed, 4 % canceled, 1 % partial success. */
function statusOf(i) {
  const r = (i * 7919) % 100;
  if (r < 85) return DagRunStatus.Success;
  if (r < 95) return DagRunStatus.Failed;
  if (r < 99) return DagRunStatus.Canceled;
  return DagRunStatus.PartialSuccess;
}

// ---- fill ------------------------------------------------------------------------------------
const knownRuns = [];
const fillStarted = performance.now();
for (let first = 0; first < totalRuns; first += batchSize) {
  const batch = [];
  for (let i = first; i < Math.min(first + batchSize, totalRuns); i++) {
    const dag = dags[i % dagCount];
    const ms = start + Math.floor((i * spanMs) / totalRuns);
    const dagRunId = runId(ms, i);
    batch.push({
      dag,
      snapshot: snapshot(dag, dagRunId, statusOf(i), new Date(ms).toISOString()),
      trigger: 'schedule',
    });
    if (i % 1009 === 0) knownRuns.push({ name: dag.name, dagRunId });
  }
  await store.runs.importRuns(batch);
}
const fillSeconds = (performance.now() - fillStarted) / 1000;
// (PostgreSQL: see pg_database_size; the bench does not load the driver itself.)
const sizeMb = databaseUrl
  ? NaN
  : ['', '-wal'].reduce((sum, suffix) => {
      try {
        return sum + statSync(`${store.paths.databaseFile}${suffix}`).size;
      } catch {
        return sum;
      }
    }, 0) /
    2 ** 20;

// ---- measure ---------------------------------------------------------------------------------
let seed = 42;
const random = (n) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};
const randomDag = () => dags[random(dagCount)].name;
const dayWindow = (days) => {
  const from = start + random(Math.max(1, Math.floor(spanMs / 86_400_000) - days)) * 86_400_000;
  return {
    from: new Date(from).toISOString(),
    to: new Date(from + days * 86_400_000 - 1).toISOString(),
  };
};

async function measure(label, fn, check) {
  for (let i = 0; i < 20; i++) await fn(); // warm-up
  const times = [];
  let last;
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    last = await fn();
    times.push(performance.now() - t);
  }
  check?.(last);
  times.sort((a, b) => a - b);
  const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
  return { label, p50: pct(50), p95: pct(95) };
}

const must = (condition, message) => {
  if (!condition) throw new Error(`bench sanity check failed: ${message}`);
};

const rows = [];
rows.push(
  await measure(
    'latest run of a DAG',
    () => store.runs.getLatestRun(randomDag()),
    (run) => must(run?.snapshot.nodes.length === 3, 'latest run'),
  ),
);
rows.push(
  await measure(
    "a DAG's last 30 runs",
    () => store.runs.listRuns({ name: randomDag(), limit: 30 }),
    (page) => must(page.runs.length === 30 && page.total === totalRuns / dagCount, 'last 30'),
  ),
);
rows.push(
  await measure(
    'all DAGs, status=failed, 1-day window, 50/page',
    () => store.runs.listRuns({ statuses: [DagRunStatus.Failed], ...dayWindow(1), limit: 50 }),
    (page) =>
      must(
        page.runs.length === Math.min(50, page.total) &&
          page.runs.every((r) => r.status === DagRunStatus.Failed),
        'cross-DAG',
      ),
  ),
);
rows.push(
  await measure(
    'one run by id',
    () => {
      const ref = knownRuns[random(knownRuns.length)];
      return store.runs.getRun(ref.name, ref.dagRunId);
    },
    (run) => must(run !== undefined, 'by id'),
  ),
);
const extra = [];
extra.push(
  await measure('all DAGs, status=failed, 1-day window, 1000 runs', () =>
    store.runs.listRuns({ statuses: [DagRunStatus.Failed], ...dayWindow(1), limit: 1000 }),
  ),
);
extra.push(
  await measure('all DAGs, status=failed, 1-day window, 1000 summaries', () =>
    store.runs.listRunSummaries({ statuses: [DagRunStatus.Failed], ...dayWindow(1), limit: 1000 }),
  ),
);
extra.push(
  await measure('all DAGs, status=success, 30-day window, 50/page', () =>
    store.runs.listRuns({ statuses: [DagRunStatus.Success], ...dayWindow(30), limit: 50 }),
  ),
);

// Recording: a step's end writes its node row alone, whatever the size of the run. (A running
// step's start is written behind or with the next write, so it is not what is measured here.)
for (const steps of [3, 200]) {
  const dag = parseDag(dagYaml(steps), { name: `record-${steps}` });
  const run = snapshot(
    dag,
    newDagRunId(),
    DagRunStatus.Running,
    new Date().toISOString(),
    process.pid,
  );
  await store.runs.record({ type: 'run-started', run, dag });
  let i = 0;
  extra.push(
    await measure(`record one step's end (${steps}-step run)`, () => {
      const n = run.nodes[i % steps];
      n.status = NodeStatus.Success;
      // A new end time each sample: the store skips a node whose state it has written already.
      n.finishedAt = new Date(Date.UTC(2026, 0, 1) + i++).toISOString();
      return store.runs.record({ type: 'step-finished', run, node: n });
    }),
  );
}

await store.close();
rmSync(dir, { recursive: true, force: true });

const fmt = (ms) => ms.toFixed(3).padStart(8);
const width = Math.max(...[...rows, ...extra].map((r) => r.label.length));
console.log(
  `store (${databaseUrl ? 'PostgreSQL' : 'SQLite'}): ${totalRuns.toLocaleString('en')} runs over ${dagCount} DAGs filled in ${fillSeconds.toFixed(1)} s ` +
    `(${Math.round(totalRuns / fillSeconds).toLocaleString('en')} runs/s, database ${Number.isNaN(sizeMb) ? 'size n/a' : `${sizeMb.toFixed(0)} MiB`}); ` +
    `${samples} samples per query`,
);
console.log(`${'query'.padEnd(width)}  p50 (ms)  p95 (ms)  target p95 ≤ ${targetMs} ms`);
for (const row of rows)
  console.log(
    `${row.label.padEnd(width)}  ${fmt(row.p50)}  ${fmt(row.p95)}  ${row.p95 <= targetMs ? 'ok' : 'MISSED'}`,
  );
console.log('-- for information');
for (const row of extra)
  console.log(`${row.label.padEnd(width)}  ${fmt(row.p50)}  ${fmt(row.p95)}`);
process.exitCode = rows.every((row) => row.p95 <= targetMs) ? 0 : 1;
