// The LogStore port's contract on the file adapter: write through the sinks (directly and, the
// fast path, from a child process holding the file descriptor), read windows and tails back,
// delete a run's logs, move a DAG's logs and back. Then a store whose logs are not files (kept
// in memory, a real implementation of the port) runs a DAG: its processes' output reaches it
// through pipes, and `output:` capture and `continueOn.output` read it back.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDag } from '../dag/loader.js';
import type {
  LogStore,
  LogStream,
  LogWindow,
  LogWindowQuery,
  RunLogSink,
  RunLogTarget,
  StepLogSink,
} from '../ports.js';
import { DagRunner, newNodeState } from '../run/runner.js';
import { DagRunStatus, NodeStatus } from '../run/status.js';
import type { DagRunSnapshot } from '../run/types.js';
import { FileLogStore } from './file-log-store.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-log-store-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const target = (dagName: string, dagRunId: string, attemptId = 'a1'): RunLogTarget => ({
  dagName,
  dagRunId,
  attemptId,
  startedAt: new Date('2026-03-01T12:00:00Z'),
});

/** A snapshot that references the logs written, as the runner records them. */
function snapshotOf(
  name: string,
  dagRunId: string,
  run: RunLogSink,
  step: StepLogSink,
): DagRunSnapshot {
  const node = newNodeState(
    parseDag('steps:\n  - name: s\n    command: "true"\n', { name }).steps[0]!,
  );
  node.stdout = step.stdout;
  node.stderr = step.stderr;
  return {
    name,
    dagRunId,
    attemptId: 'a1',
    root: { name, dagRunId },
    parent: undefined,
    status: DagRunStatus.Success,
    pid: 0,
    queuedAt: '',
    startedAt: '',
    finishedAt: '',
    log: run.ref,
    params: '',
    paramsList: [],
    nodes: [node],
    handlers: {},
    preconditions: [],
    error: '',
  };
}

function logStoreContract(name: string, make: () => LogStore): void {
  describe(`LogStore contract: ${name}`, () => {
    it('writes a run log and step streams, and reads windows and tails back', async () => {
      const logs = make();
      const run = await logs.openRun(target('writer', 'r1'));
      run.log('run started');
      const step = await run.openStep('greet', new Date('2026-03-01T12:00:01Z'));
      expect(step.stdout).not.toBe(step.stderr);
      step.write('stdout', 'one\ntwo\n');
      step.write('stdout', Buffer.from('three\n'));
      step.write('stderr', 'oops\n');
      expect(step.size('stdout')).toBe(14);
      expect(step.read('stdout', 4, 3).toString()).toBe('two');
      step.close();
      run.close();
      run.log('after close: dropped');

      expect(await logs.readWindow(step.stdout, {})).toEqual({
        content: 'one\ntwo\nthree',
        lineCount: 3,
        totalLines: 3,
      });
      expect(await logs.readWindow(step.stdout, { tail: 1 })).toEqual({
        content: 'three',
        lineCount: 1,
        totalLines: 3,
        hasMore: true,
      });
      expect(await logs.readWindow(step.stdout, { offset: 2, limit: 1 })).toMatchObject({
        content: 'two',
        hasMore: true,
      });
      expect(await logs.readWindow(step.stderr, { head: 5 })).toMatchObject({ content: 'oops' });
      expect(await logs.readWindow(run.ref, {})).toMatchObject({ content: 'run started' });
      expect(await logs.readTail(step.stdout, 6)).toBe('three\n');
      expect(await logs.readWindow(`${step.stdout}-missing`, {})).toBeUndefined();
      expect(await logs.readTail(`${step.stdout}-missing`, 10)).toBeUndefined();
    });

    it('a step opened again appends (retries and repeats)', async () => {
      const logs = make();
      const run = await logs.openRun(target('appender', 'r1'));
      const at = new Date('2026-03-01T12:00:01Z');
      const first = await run.openStep('s', at);
      first.write('stdout', 'first\n');
      first.close();
      const again = await run.openStep('s', at);
      expect(again.stdout).toBe(first.stdout);
      again.write('stdout', 'second\n');
      expect(again.size('stdout')).toBe(13);
      again.close();
      run.close();
      expect((await logs.readWindow(first.stdout, {}))?.content).toBe('first\nsecond');
    });

    it('deletes the logs of a run and leaves other runs alone', async () => {
      const logs = make();
      const doomed = await logs.openRun(target('retention', 'old'));
      const doomedStep = await doomed.openStep('s', new Date());
      doomedStep.write('stdout', 'old\n');
      doomedStep.close();
      doomed.close();
      const kept = await logs.openRun(target('retention', 'new'));
      const keptStep = await kept.openStep('s', new Date());
      keptStep.write('stdout', 'new\n');
      keptStep.close();
      kept.close();

      await logs.deleteRunLogs([snapshotOf('retention', 'old', doomed, doomedStep)]);
      expect(await logs.readWindow(doomedStep.stdout, {})).toBeUndefined();
      expect(await logs.readWindow(doomed.ref, {})).toBeUndefined();
      expect((await logs.readWindow(keptStep.stdout, {}))?.content).toBe('new');
    });

    it("moves a DAG's logs to its new name and back", async () => {
      const logs = make();
      const run = await logs.openRun(target('before', 'r1'));
      const step = await run.openStep('s', new Date());
      step.write('stdout', 'moved\n');
      step.close();
      run.close();

      const moved = await logs.moveDagLogs('before', 'after');
      expect(moved).toBeDefined();
      const newRef = moved!(step.stdout);
      expect(newRef).not.toBe(step.stdout);
      expect(moved!('elsewhere')).toBe('elsewhere');
      expect((await logs.readWindow(newRef, {}))?.content).toBe('moved');
      expect(await logs.readWindow(step.stdout, {})).toBeUndefined();
      // Nothing to move: no logs of that DAG, or the new name has logs already.
      expect(await logs.moveDagLogs('never-ran', 'other')).toBeUndefined();
      const clash = await logs.openRun(target('taken', 'r1'));
      clash.close();
      expect(await logs.moveDagLogs('after', 'taken')).toBeUndefined();

      const back = await logs.moveDagLogs('after', 'before');
      expect(back?.(newRef)).toBe(step.stdout);
      expect((await logs.readWindow(step.stdout, {}))?.content).toBe('moved');
    });

    it('discards what an attempt wrote when its start was not recorded', async () => {
      const logs = make();
      const run = await logs.openRun(target('discarded', 'r1'));
      run.log('started');
      await run.discard();
      expect(await logs.readWindow(run.ref, {})).toBeUndefined();
    });
  });
}

logStoreContract('FileLogStore', () => new FileLogStore(mkdtempSync(join(work, 'logs-'))));
logStoreContract('MemoryLogStore', () => new MemoryLogStore());

describe('FileLogStore', () => {
  it('offers the files themselves: a child process writes straight into them', async () => {
    const logs = new FileLogStore(join(work, 'fast'));
    const run = await logs.openRun(target('fast', 'r1'));
    const step = await run.openStep('s', new Date());
    expect(step.files?.stdout.path).toBe(step.stdout);
    const child = spawn('sh', ['-c', 'echo out; echo err >&2'], {
      stdio: ['ignore', step.files!.stdout.fd, step.files!.stderr.fd],
    });
    await once(child, 'exit');
    expect(step.size('stdout')).toBe(4);
    expect(step.read('stderr', 0, 100).toString()).toBe('err\n');
    step.close();
    run.close();
    expect(existsSync(step.stdout)).toBe(true);
  });

  it("names the files in Dagu's layout, under the DAG's own logDir when it has one", async () => {
    const base = join(work, 'layout');
    const own = join(work, 'own');
    const logs = new FileLogStore(base);
    const run = await logs.openRun({ ...target('my dag', '0195-abcd-ef'), logDir: own });
    expect(run.ref.startsWith(join(own, 'my_dag', 'dag-run_20260301_120000Z_0195-abcd-ef'))).toBe(
      true,
    );
    expect(run.tempDir).toBe(
      join(own, 'my_dag', 'dag-run_20260301_120000Z_0195-abcd-ef', 'run_20260301_120000Z_a1'),
    );
    run.close();
  });
});

describe('a LogStore that is not files', () => {
  it('gets step output through pipes; output capture and continueOn.output read it back', async () => {
    const logs = new MemoryLogStore();
    const dag = parseDag(
      [
        'steps:',
        '  - name: greet',
        '    command: sh -c "echo hello; echo warn >&2; exit 3"',
        '    output: GREETING',
        '    continueOn:',
        '      output: [hello]',
        '  - name: use',
        '    command: echo "got ${GREETING}"',
        '    depends: [greet]',
        '',
      ].join('\n'),
      { name: 'piped' },
    );
    const result = await new DagRunner({ dag, logs }).run();
    const [greet, use] = result.snapshot.nodes;
    expect(greet?.status).toBe(NodeStatus.Failed);
    expect(use?.status).toBe(NodeStatus.Success);
    expect(result.outputs.GREETING).toBe('hello');
    expect(result.snapshot.log.startsWith('memory:')).toBe(true);
    expect((await logs.readWindow(use!.stdout, {}))?.content).toBe('got hello');
    expect((await logs.readWindow(greet!.stderr, {}))?.content).toBe('warn');
    expect((await logs.readWindow(result.snapshot.log, {}))?.content).toContain('run finished');
  });
});

/**
 * Logs kept in memory under `memory:/<dag>/<runId>/<attemptId>/<file>` references: a real
 * LogStore (every method does what the port says), with exact line windows.
 */
class MemoryLogStore implements LogStore {
  private readonly files = new Map<string, Buffer>();

  async openRun(target: RunLogTarget): Promise<RunLogSink> {
    const dir = `memory:/${target.dagName}/${target.dagRunId}/${target.attemptId}`;
    const files = this.files;
    const ref = `${dir}/run.log`;
    files.set(ref, Buffer.alloc(0));
    let open = true;
    const append = (file: string, data: string | Uint8Array): void => {
      files.set(file, Buffer.concat([files.get(file) ?? Buffer.alloc(0), Buffer.from(data)]));
    };
    return {
      ref,
      tempDir: undefined,
      log: (line) => {
        if (open) append(ref, `${line}\n`);
      },
      openStep: async (stepName) => {
        const refs = { stdout: `${dir}/${stepName}.out`, stderr: `${dir}/${stepName}.err` };
        for (const file of Object.values(refs)) if (!files.has(file)) append(file, '');
        return {
          ...refs,
          write: (stream: LogStream, data: string | Uint8Array) => append(refs[stream], data),
          size: (stream: LogStream) => files.get(refs[stream])!.length,
          read: (stream: LogStream, start: number, length: number) =>
            Buffer.from(files.get(refs[stream])!.subarray(start, start + length)),
          close: () => undefined,
        };
      },
      close: () => {
        open = false;
      },
      discard: async () => {
        open = false;
        for (const file of [...files.keys()]) if (file.startsWith(`${dir}/`)) files.delete(file);
      },
    };
  }

  async readWindow(ref: string, query: LogWindowQuery): Promise<LogWindow | undefined> {
    const file = this.files.get(ref);
    if (!file) return undefined;
    if (file.length === 0) return { content: '' };
    const all = file.toString('utf8').split('\n');
    if (all[all.length - 1] === '') all.pop();
    let lines: string[];
    let hasMore: boolean;
    if (query.tail !== undefined || query.head !== undefined) {
      lines =
        query.tail !== undefined
          ? all.slice(Math.max(0, all.length - query.tail))
          : all.slice(0, query.head);
      hasMore = lines.length < all.length;
    } else {
      const offset = query.offset ?? 1;
      lines = all.slice(offset - 1, offset - 1 + (query.limit ?? 1000));
      hasMore = lines.length > 0 && offset + lines.length - 1 < all.length;
    }
    const window: LogWindow = { content: lines.join('\n') };
    if (lines.length) window.lineCount = lines.length;
    window.totalLines = all.length;
    if (hasMore) window.hasMore = true;
    return window;
  }

  async readTail(ref: string, maxBytes: number): Promise<string | undefined> {
    const file = this.files.get(ref);
    return file?.subarray(Math.max(0, file.length - maxBytes)).toString('utf8');
  }

  async deleteRunLogs(attempts: readonly DagRunSnapshot[]): Promise<void> {
    for (const attempt of attempts) {
      const dir = attempt.log.slice(0, attempt.log.lastIndexOf('/'));
      for (const file of [...this.files.keys()])
        if (file.startsWith(`${dir}/`)) this.files.delete(file);
    }
  }

  async moveDagLogs(from: string, to: string): Promise<((ref: string) => string) | undefined> {
    const [fromDir, toDir] = [`memory:/${from}/`, `memory:/${to}/`];
    const keys = [...this.files.keys()];
    if (!keys.some((k) => k.startsWith(fromDir)) || keys.some((k) => k.startsWith(toDir)))
      return undefined;
    const move = (ref: string): string =>
      ref.startsWith(fromDir) ? `${toDir}${ref.slice(fromDir.length)}` : ref;
    for (const key of keys) {
      if (!key.startsWith(fromDir)) continue;
      this.files.set(move(key), this.files.get(key)!);
      this.files.delete(key);
    }
    return move;
  }
}
