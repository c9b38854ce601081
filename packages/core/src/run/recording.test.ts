// A store that fails must not stop a run nor leave debris: the start fails cleanly, later
// failures are retried with the run's latest state.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDag } from '../dag/loader.js';
import { StoreUnavailableError } from '../errors.js';
import { ResilientRecorder } from './recording.js';
import { DagRunner } from './runner.js';
import { DagRunStatus } from './status.js';
import type { RunRecorder } from '../ports.js';
import type { DagRunSnapshot, NodeState, RunEvent } from './types.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-recording-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A store whose writes fail while `failing` is set; keeps a copy of each written state. */
class FlakyRecorder implements RunRecorder {
  failing: (event: RunEvent) => boolean = () => false;
  readonly written: Array<{ type: RunEvent['type']; run: DagRunSnapshot }> = [];
  async record(event: RunEvent): Promise<void> {
    if (this.failing(event)) throw new StoreUnavailableError('disk full');
    this.written.push({ type: event.type, run: structuredClone(event.run) });
  }
}

const dag = parseDag(
  'name: flaky\nsteps:\n  - name: one\n    command: "true"\n  - name: two\n    command: "true"\n',
);

describe('a run on a failing store', () => {
  it('fails its start when the start cannot be recorded, and leaves no log directory', async () => {
    const recorder = new FlakyRecorder();
    recorder.failing = (event) => event.type === 'run-started';
    const logDir = join(work, 'start');
    const runner = new DagRunner({ dag, logDir, recorder, cwd: work });
    await expect(runner.run()).rejects.toThrow(StoreUnavailableError);
    expect(readdirSync(join(logDir, dag.name))).toEqual([]);
    expect(recorder.written).toEqual([]);
  });

  it('goes on when later writes fail and records its final state once the store is back', async () => {
    const recorder = new FlakyRecorder();
    let down = true;
    recorder.failing = (event) => down && event.type !== 'run-started';
    const logDir = join(work, 'later');
    const runner = new DagRunner({ dag, logDir, recorder, cwd: work });
    const result = await runner.run();
    expect(result.status).toBe(DagRunStatus.Success);
    expect(recorder.written.map((entry) => entry.type)).toEqual(['run-started']);
    const runLog = join(logDir, dag.name, readdirSync(join(logDir, dag.name))[0]!);
    expect(existsSync(runLog)).toBe(true);

    down = false;
    // The next write of the run (here: a retry, as the run is over) carries its latest state.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(recorder.written.at(-1)).toMatchObject({
      type: 'run-finished',
      run: { status: DagRunStatus.Success },
    });
  });
});

describe('the order of records', () => {
  const chain = parseDag(
    'name: ordered\ntype: chain\nsteps:\n  - name: one\n    command: "true"\n  - name: two\n    command: "true"\n  - name: three\n    command: "true"\n',
  );
  const stepOfEvent = (event: RunEvent) => ('node' in event ? event.node.step.name : '');

  it('records every event in the order it happened, a step end before the next start', async () => {
    const recorder = new FlakyRecorder();
    const seen: string[] = [];
    const original = recorder.record.bind(recorder);
    recorder.record = (event) => {
      seen.push(`${event.type} ${stepOfEvent(event)}`.trim());
      return original(event);
    };
    const result = await new DagRunner({
      dag: chain,
      logDir: join(work, 'order'),
      recorder,
      cwd: work,
    }).run();
    expect(result.status).toBe(DagRunStatus.Success);
    expect(seen.filter((line) => !line.startsWith('step-updated'))).toEqual([
      'run-started',
      'step-started one',
      'step-finished one',
      'step-started two',
      'step-finished two',
      'step-started three',
      'step-finished three',
      'run-finished',
    ]);
  });
});

describe('ResilientRecorder', () => {
  /** One step per run name, so that repeated events are updates of the same step. */
  const steps = new Map<string, NodeState>();
  const stepOf = (name: string): NodeState => {
    if (!steps.has(name)) steps.set(name, { step: { name } } as NodeState);
    return steps.get(name)!;
  };
  const event = (name: string, status: DagRunStatus, node = stepOf(name)): RunEvent => ({
    type: 'step-updated',
    run: { name, dagRunId: 'r', root: { name, dagRunId: 'r' }, status } as DagRunSnapshot,
    node,
  });

  it('keeps only the latest pending event of each run and reports failure and recovery once', async () => {
    const recorder = new FlakyRecorder();
    let down = true;
    recorder.failing = () => down;
    const errors: unknown[] = [];
    const recovered: RunEvent[] = [];
    const resilient = new ResilientRecorder(recorder, {
      retryMs: 60_000,
      onError: (error) => errors.push(error),
      onRecovered: (e) => recovered.push(e),
    });
    await resilient.record(event('a', DagRunStatus.Running));
    await resilient.record(event('a', DagRunStatus.Running));
    await resilient.record(event('b', DagRunStatus.Running));
    expect(errors).toHaveLength(2);
    expect(resilient.pendingCount).toBe(2);

    down = false;
    await resilient.record(event('a', DagRunStatus.Success));
    expect(recorder.written.map((w) => [w.run.name, w.run.status])).toEqual([
      ['a', DagRunStatus.Success],
    ]);
    expect(recovered).toHaveLength(1);
    expect(resilient.pendingCount).toBe(1);
  });

  it('writes every step whose own event was replaced while the store was down', async () => {
    const written: Array<[RunEvent['type'], string]> = [];
    let down = true;
    const resilient = new ResilientRecorder(
      {
        record: async (e) => {
          if (down) throw new StoreUnavailableError('disk full');
          written.push([e.type, 'node' in e ? e.node.step.name : '']);
        },
      },
      { retryMs: 60_000 },
    );
    const one = { step: { name: 'one' } } as NodeState;
    const two = { step: { name: 'two' } } as NodeState;
    await resilient.record(event('c', DagRunStatus.Running, one));
    await resilient.record(event('c', DagRunStatus.Running, two));
    await resilient.record(event('c', DagRunStatus.Running, one));
    down = false;
    await resilient.record({ type: 'run-finished', run: event('c', DagRunStatus.Success).run });
    expect(written).toEqual([
      ['step-updated', 'two'],
      ['step-updated', 'one'],
      ['run-finished', ''],
    ]);
    expect(resilient.pendingCount).toBe(0);
  });

  it('passes a failed start on to the caller', async () => {
    const recorder = new FlakyRecorder();
    recorder.failing = () => true;
    const resilient = new ResilientRecorder(recorder);
    const start = { ...event('a', DagRunStatus.Running), type: 'run-started', dag } as RunEvent;
    await expect(resilient.record(start)).rejects.toThrow('disk full');
    expect(resilient.pendingCount).toBe(0);
  });
});
