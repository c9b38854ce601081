// A store writer in its own process (multiprocess.test.ts). Waits for <home>/go, then
// `record <label> <count>`: records count runs (start, two steps, finish) plus flags and cancel
// requests; or `claim <queue>`: claims items of the queue until it is empty. Prints one JSON line.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DagRunStatus, NodeStatus, parseDag } from '@dagu-ts/core';
import { openStore } from '../index.ts';

const [home, mode, arg, count] = process.argv.slice(2);
const store = openStore({ home });
console.log('ready');
while (!existsSync(join(home, 'go'))) await sleep(2);

const result = { mode, busy: 0, records: 0, claimed: [] };
try {
  if (mode === 'record') {
    const dag = parseDag(
      'steps:\n  - name: a\n    command: "true"\n  - name: b\n    command: "true"\n',
      {
        name: 'concurrent',
      },
    );
    for (let i = 0; i < Number(count); i++) {
      const dagRunId = `${arg}-${i}`;
      const node = (step) => ({
        step,
        status: NodeStatus.NotStarted,
        stdout: '',
        stderr: '',
        startedAt: '',
        finishedAt: '',
        retriedAt: '',
        retryCount: 0,
        doneCount: 0,
        repeated: false,
        exitCode: 0,
        error: '',
        preconditions: [],
        children: [],
        childrenRepeated: [],
        outputs: {},
      });
      const run = {
        name: 'concurrent',
        dagRunId,
        attemptId: 'a1',
        root: { name: 'concurrent', dagRunId },
        parent: undefined,
        status: DagRunStatus.Running,
        pid: process.pid,
        queuedAt: '',
        startedAt: new Date().toISOString(),
        finishedAt: '',
        log: '',
        params: '',
        paramsList: [],
        nodes: dag.steps.map(node),
        handlers: {},
        preconditions: [],
        error: '',
      };
      await store.runs.record({ type: 'run-started', run, dag });
      for (const n of run.nodes) {
        n.status = NodeStatus.Running;
        await store.runs.record({ type: 'step-started', run, node: n });
        n.status = NodeStatus.Success;
        await store.runs.record({ type: 'step-finished', run, node: n });
      }
      await store.cancels.requestCancel('concurrent', dagRunId);
      run.status = DagRunStatus.Success;
      await store.runs.record({ type: 'run-finished', run });
      await store.flags.setSuspended(`${arg}-flag`, i % 2 === 0);
      result.records++;
    }
  } else {
    for (;;) {
      const item = await store.queue.claimNext(arg, 1_000_000);
      if (!item) break;
      result.claimed.push(item.dagRunId);
    }
  }
} catch (error) {
  if (String(error?.code ?? error).includes('BUSY')) result.busy++;
  console.error(error);
  process.exitCode = 1;
}
console.log(JSON.stringify(result));
store.close();
