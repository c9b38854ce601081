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
    if (event.type !== 'step-updated' || event.node.step.name !== 'slow') return;
    // A running step's events may be written behind (PostgreSQL) or ride along with the next
    // write (SQLite): wait until a reader sees the step running.
    for (;;) {
      const stored = await store.runs.getRun('crashing', dagRunId);
      if (stored?.snapshot.nodes[1]?.stdout) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    console.log(`started ${dagRunId}`);
  },
};
const runner = new DagRunner({ dag, logDir: store.paths.logDir, recorder, cwd: home });
dagRunId = runner.dagRunId;
await runner.run();
