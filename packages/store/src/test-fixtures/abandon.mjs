// A process that starts a real run (a step that sleeps) recorded in the store at <home>, prints
// `started <dagRunId>` once the store has the running step, and waits to be killed (the crash
// tests in multiprocess.test.ts and run-store.test.ts). With a second argument, a PostgreSQL URL,
// the store is that database.
import { DagRunner, parseDag } from '@dagu-ts/core';
import { openStore } from '../index.ts';
import { openPostgresStore } from '../postgres/index.ts';

const [home, url] = process.argv.slice(2);
const store = url ? await openPostgresStore({ url, home }) : openStore({ home });
const dag = parseDag(
  'steps:\n  - name: quick\n    command: "true"\n  - name: slow\n    command: sleep 5\n',
  { name: 'crashing' },
);
let dagRunId = '';
const recorder = {
  async record(event) {
    await store.runs.record(event);
    // Its log paths: the first event of a step written at once (a step's start alone may wait
    // up to 50 ms for another write to ride along with, run-store.ts deferStepStart).
    if (event.type === 'step-updated' && event.node.step.name === 'slow')
      console.log(`started ${dagRunId}`);
  },
};
const runner = new DagRunner({ dag, logDir: store.paths.logDir, recorder, cwd: home });
dagRunId = runner.dagRunId;
await runner.run();
