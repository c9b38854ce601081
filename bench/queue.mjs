// Queue dispatch latency on a real SQLite store (run after a build: `node bench/queue.mjs [runs]`):
// (1) enqueue → running for N runs when the queue has room, and (2) with maxActiveRuns: 1, the
// gap between one run finishing and the next queued run starting. Prints p50/p95 in ms, the first
// against its target (p95 ≤ 20 ms).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDag, RunLauncher } from '../packages/core/dist/index.js';
import { openStore } from '../packages/store/dist/index.js';

const count = Number(process.argv[2] ?? 200);
const home = mkdtempSync(join(tmpdir(), 'dagu-bench-queue-'));
const store = openStore({ home });

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

function launcherWith(onEvent) {
  return new RunLauncher({
    runs: store.runs,
    queue: store.queue,
    cancels: store.cancels,
    logDir: store.paths.logDir,
    onEvent,
    sweepIntervalMs: 0,
  });
}

async function enqueueToRunning() {
  const dag = parseDag('maxActiveRuns: 1000\nsteps:\n  - {name: a, command: "true"}\n', {
    name: 'roomy',
  });
  const latencies = [];
  let started;
  const launcher = launcherWith((event) => {
    if (event.type === 'run-started') started?.(performance.now());
  });
  // One run at a time: the figure is the dispatch path, not a burst of 200 spawns queueing up
  // behind each other in one event loop.
  for (let i = 0; i < count; i++) {
    const running = new Promise((resolve) => (started = resolve));
    const at = performance.now();
    await launcher.enqueue(dag, { trigger: 'api', dagRunId: `r${i}` });
    latencies.push((await running) - at);
  }
  await launcher.close();
  return latencies;
}

async function finishToNextStart() {
  const dag = parseDag('maxActiveRuns: 1\nsteps:\n  - {name: a, command: "true"}\n', {
    name: 'single',
  });
  const gaps = [];
  let lastFinish;
  let finished = 0;
  let allDone;
  const done = new Promise((resolve) => (allDone = resolve));
  const launcher = launcherWith((event) => {
    if (event.type === 'run-started' && lastFinish !== undefined)
      gaps.push(performance.now() - lastFinish);
    if (event.type === 'run-finished') {
      lastFinish = performance.now();
      if (++finished === count) allDone();
    }
  });
  // Fill the queue first, then let it drain one run at a time.
  for (let i = 0; i < count; i++) {
    await launcher.enqueue(dag, { trigger: 'api', dagRunId: `s${i}` });
  }
  await done;
  await launcher.close();
  return gaps;
}

try {
  const latency = await enqueueToRunning();
  const gaps = await finishToNextStart();
  console.log(
    `queue: ${count} runs of a one-step DAG (\`true\`), SQLite store in a temp dir, ${process.version}`,
  );
  console.log('measure                                   p50 ms   p95 ms   max ms  target');
  let missed = false;
  for (const [label, values, target] of [
    ['enqueue → running (queue has room)', latency, 20],
    ['run finished → next queued run started', gaps, undefined],
  ]) {
    const p95 = percentile(values, 95);
    const verdict =
      target === undefined ? '' : `p95 ≤ ${target} ms ${p95 <= target ? 'ok' : 'MISSED'}`;
    if (target !== undefined && p95 > target) missed = true;
    console.log(
      `${label.padEnd(40)} ${percentile(values, 50).toFixed(2).padStart(7)} ${p95.toFixed(2).padStart(8)} ${Math.max(
        ...values,
      )
        .toFixed(2)
        .padStart(8)}  ${verdict}`,
    );
  }
  process.exitCode = missed ? 1 : 0;
} finally {
  store.close();
  rmSync(home, { recursive: true, force: true });
}
