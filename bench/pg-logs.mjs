// Logs on PostgreSQL (PgLogStore) against local files (FileLogStore): the cost a step pays to
// open, write and close its logs, and the live-tail delay another server sees (the time from a
// line written on the writer to that line in readTail on a server with another home).
// Run after a build: `DAGU_BENCH_DATABASE_URL=postgres://… node bench/pg-logs.mjs [steps]`
// (an empty database). Defaults: flush every 250 ms, 64 KiB chunks.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLogStore } from '../packages/core/dist/index.js';
import { openPostgresStore } from '../packages/store/dist/postgres/index.js';

const url = process.env.DAGU_BENCH_DATABASE_URL;
if (!url) {
  console.error('set DAGU_BENCH_DATABASE_URL=postgres://… (an empty database)');
  process.exit(2);
}
const steps = Number(process.argv[2] ?? 500);
const dir = mkdtempSync(join(tmpdir(), 'dagu-bench-pg-logs-'));
const writer = await openPostgresStore({ url, home: join(dir, 'a'), reapAbandoned: false });
const reader = await openPostgresStore({ url, home: join(dir, 'b'), reapAbandoned: false });
const files = new FileLogStore(join(dir, 'files'));

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const line = `${'x'.repeat(99)}\n`;

/** ms per step: open the step's logs, write 10 lines to each stream, close them. */
async function perStep(store, label) {
  const run = await store.openRun({
    dagName: 'bench',
    dagRunId: `${label}-${Date.now()}`,
    attemptId: 'a1',
    startedAt: new Date(),
  });
  const times = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    const sink = await run.openStep(`step-${i}`, new Date());
    for (let j = 0; j < 10; j++) {
      sink.write('stdout', line);
      sink.write('stderr', line);
    }
    sink.close();
    times.push(performance.now() - start);
  }
  run.close();
  const flushStart = performance.now();
  await store.flush?.();
  return { times, flushMs: performance.now() - flushStart };
}

const fileCost = await perStep(files, 'files');
const pgCost = await perStep(writer.logs, 'pg');

// Live tail: a line every 50 ms, read back on the other server by polling readTail every 5 ms.
const run = await writer.logs.openRun({
  dagName: 'bench',
  dagRunId: `tail-${Date.now()}`,
  attemptId: 'a1',
  startedAt: new Date(),
});
const sink = await run.openStep('tail', new Date());
const delays = [];
for (let i = 0; i < 60; i++) {
  const marker = `line-${i}`;
  const written = performance.now();
  sink.write('stdout', `${marker}\n`);
  for (;;) {
    const tail = await reader.logs.readTail(sink.stdout, 64);
    if (tail?.endsWith(`${marker}\n`)) break;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  delays.push(performance.now() - written);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
sink.close();
run.close();

const fmt = (v) => v.toFixed(3);
console.log(`steps: ${steps}, 10 lines × 100 B per stream per step`);
console.log(
  `files: per step p50 ${fmt(percentile(fileCost.times, 50))} ms, p95 ${fmt(percentile(fileCost.times, 95))} ms`,
);
console.log(
  `pg:    per step p50 ${fmt(percentile(pgCost.times, 50))} ms, p95 ${fmt(percentile(pgCost.times, 95))} ms; final flush of all ${steps} steps ${fmt(pgCost.flushMs)} ms`,
);
console.log(
  `live tail on another server: p50 ${fmt(percentile(delays, 50))} ms, p95 ${fmt(percentile(delays, 95))} ms, max ${fmt(Math.max(...delays))} ms`,
);
await writer.close();
await reader.close();
rmSync(dir, { recursive: true, force: true });
