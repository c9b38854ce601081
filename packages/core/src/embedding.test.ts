// Embedding dagu-ts in a Node service, through the package's public entry only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DagRunner,
  DagRunStatus,
  InMemoryRunRecorder,
  NodeStatus,
  parseDag,
  type RunEvent,
} from '@dagu-ts/core';

const logDir = mkdtempSync(join(tmpdir(), 'dagu-embed-'));
afterAll(() => rmSync(logDir, { recursive: true, force: true }));

describe('@dagu-ts/core public API', () => {
  it('loads a DAG from YAML, runs it with params, reports events and the result', async () => {
    const dag = parseDag(
      'params: "NAME=world"\nsteps:\n  - name: greet\n    command: echo "hello ${NAME}"\n    output: GREETING\n  - name: shout\n    command: echo "${GREETING}" | tr a-z A-Z\n    output: LOUD\n',
      { name: 'hello' },
    );
    const recorder = new InMemoryRunRecorder();
    const runner = new DagRunner({ dag, logDir, params: { text: 'NAME=embedder' }, recorder });
    const events: string[] = [];
    runner.subscribe((event: RunEvent) =>
      events.push('node' in event ? `${event.type}:${event.node.step.name}` : event.type),
    );
    const result = await runner.run();

    expect(result.status).toBe(DagRunStatus.Success);
    expect(result.exitCode).toBe(0);
    expect(result.snapshot.nodes.map((n) => n.outputs)).toEqual([
      { GREETING: 'GREETING=hello embedder' },
      { LOUD: 'LOUD=HELLO EMBEDDER' },
    ]);
    expect(result.outputs).toEqual({ GREETING: 'hello embedder', LOUD: 'HELLO EMBEDDER' });
    expect(events).toEqual([
      'run-started',
      'step-started:greet',
      'step-updated:greet', // its log files are open: readers can follow them
      'step-finished:greet',
      'step-started:shout',
      'step-updated:shout',
      'step-finished:shout',
      'run-finished',
    ]);
    expect(recorder.get('hello', runner.dagRunId)?.status).toBe(DagRunStatus.Success);
  });

  it('cancels a run through an AbortSignal', async () => {
    const dag = parseDag(
      'steps:\n  - name: wait\n    command: sleep 30\n  - name: never\n    command: "true"\n',
      {
        name: 'cancel-me',
      },
    );
    const controller = new AbortController();
    const runner = new DagRunner({ dag, logDir, signal: controller.signal });
    runner.subscribe((event) => {
      if (event.type === 'step-started') setTimeout(() => controller.abort(), 200);
    });
    const started = Date.now();
    const result = await runner.run();
    expect(result.status).toBe(DagRunStatus.Canceled);
    expect(result.exitCode).toBe(0);
    expect(result.snapshot.nodes.map((n) => n.status)).toEqual([
      NodeStatus.Canceled,
      NodeStatus.NotStarted,
    ]);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
