// An executor registered outside core runs as a step type in runs the launcher starts, queued
// runs included, with its output captured and recorded in the store.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  createExecutorRegistry,
  DagRunStatus,
  parseDag,
  RunLauncher,
  type Executor,
} from '@dagu-ts/core';
import { openStore, type Store } from '@dagu-ts/store';

/** Prints its evaluated command in capitals. */
const testEcho: Executor = {
  async run(context) {
    context.write('stdout', `${(await context.commandLine(true, 'text')).toUpperCase()}\n`);
    return { exitCode: 0, error: undefined };
  },
};

let home: string;
let store: Store;
let launcher: RunLauncher;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'dagu-executors-'));
  store = openStore({ home });
  launcher = new RunLauncher({
    runs: store.runs,
    queue: store.queue,
    cancels: store.cancels,
    logDir: store.paths.logDir,
    spawnHelper: false,
    executors: createExecutorRegistry().register('test-echo', testEcho),
  });
});

afterEach(async () => {
  await launcher.close();
  store.close();
  rmSync(home, { recursive: true, force: true });
});

it('RunLauncher runs a registered executor, for a started and for a queued run', async () => {
  const dag = parseDag(
    'params: "WHO=world"\nsteps:\n  - {name: echo, executor: test-echo, command: "hello ${WHO}", output: GREETING}\n',
    { name: 'echo' },
  );
  const started = await launcher.start(dag, { trigger: 'api' });
  const queued = await launcher.enqueue(dag, { trigger: 'api', params: { text: 'WHO=queue' } });
  const finished = async (dagRunId: string) => {
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      const stored = await store.runs.getRun('echo', dagRunId);
      if (stored && stored.snapshot.finishedAt !== '') return stored.snapshot;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    throw new Error(`run ${dagRunId} did not finish`);
  };
  for (const [dagRunId, greeting] of [
    [started.dagRunId, 'GREETING=HELLO WORLD'],
    [queued.dagRunId, 'GREETING=HELLO QUEUE'],
  ] as const) {
    const snapshot = await finished(dagRunId);
    expect(snapshot.status).toBe(DagRunStatus.Success);
    expect(snapshot.nodes[0]?.outputs).toEqual({ GREETING: greeting });
  }
});
