// A process that starts a real run (a step that sleeps) recorded in the store at <home>, prints
// `started <dagRunId>` once the store has the running step, and waits to be killed (the crash
// test in multiprocess.test.ts).
import { DagRunner, parseDag } from '@dagu-ts/core';
import { openStore } from '../index.ts';

const [home] = process.argv.slice(2);
const store = openStore({ home });
const dag = parseDag(
  'steps:\n  - name: quick\n    command: "true"\n  - name: slow\n    command: sleep 5\n',
  { name: 'crashing' },
);
let dagRunId = '';
const recorder = {
  async record(event) {
    await store.runs.record(event);
    if (event.type === 'step-started' && event.node.step.name === 'slow')
      console.log(`started ${dagRunId}`);
  },
};
const runner = new DagRunner({ dag, logDir: store.paths.logDir, recorder, cwd: home });
dagRunId = runner.dagRunId;
await runner.run();
