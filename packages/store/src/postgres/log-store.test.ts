// The PostgreSQL log store: what one server writes (through JavaScript and straight into the
// files by a child process) every other server reads from the database's chunks, with the same
// windows as the file, a live tail while the log is open, truncation at the cap, deletion and
// the move of a renamed DAG.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DagRunSnapshot, LogWindowQuery, RunLogTarget, StepLogSink } from '@dagu-ts/core';
import { storeAdapters, type ContractHandle } from '../test-fixtures/adapters.js';
import { dagOf, snapshotOf, tempDir } from '../test-fixtures/helpers.js';
import { openPostgresStore, type PostgresStore } from './index.js';

const work = tempDir('dagu-pg-logs-');
afterAll(() => rmSync(work, { recursive: true, force: true }));
const postgres = storeAdapters.find((adapter) => adapter.name === 'postgres')!;

let counter = 0;
function targetOf(dagName = 'logs', fields: Partial<RunLogTarget> = {}): RunLogTarget {
  counter++;
  return {
    dagName,
    dagRunId: `run-${counter}`,
    attemptId: `att-${counter}`,
    startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, counter)),
    ...fields,
  };
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A child process that writes `text` straight into the step's stdout file descriptor. */
async function childWrites(sink: StepLogSink, text: string): Promise<void> {
  const fd = sink.files!.stdout.fd;
  const child = spawn(process.execPath, ['-e', `process.stdout.write(${JSON.stringify(text)})`], {
    stdio: ['ignore', fd, 'inherit'],
  });
  await new Promise((resolve) => child.on('close', resolve));
}

describe.runIf(postgres.available)('PostgreSQL log store', () => {
  let handle: ContractHandle;
  /** The server that runs the steps, and another one with its own home. */
  let writer: PostgresStore;
  let other: PostgresStore;
  beforeEach(async () => {
    handle = await postgres.create(work);
    const open = (home: string, maxBytesPerLog?: number) =>
      openPostgresStore({
        url: handle.url!,
        home: join(work, home),
        poolSize: 3,
        reapAbandoned: false,
        logShipping: {
          flushMs: 20,
          chunkBytes: 1000,
          ...(maxBytesPerLog ? { maxBytesPerLog } : {}),
        },
      });
    writer = await open(`writer-${counter}`);
    other = await open(`other-${counter}`);
  });
  afterEach(async () => {
    await writer.close();
    await other.close();
    await handle.dispose();
  });

  it('serves what one server wrote to another, window by window, as the file does', async () => {
    const run = await writer.logs.openRun(targetOf());
    run.log('run started');
    const step = await run.openStep('main', new Date());
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i + 1} ${'x'.repeat(i % 37)}`);
    await childWrites(step, lines.slice(0, 1500).join('\n') + '\n');
    step.write('stdout', lines.slice(1500).join('\n') + '\n');
    step.write('stderr', 'oops\n');
    step.close();
    run.close();
    await (writer.logs as unknown as { flush(): Promise<void> }).flush();

    expect(existsSync(step.stdout)).toBe(true);
    const queries: LogWindowQuery[] = [
      {},
      { tail: 10 },
      { tail: 5000 },
      { head: 7 },
      { offset: 1200, limit: 500 },
      { offset: 2999, limit: 10 },
      { offset: 4000 },
    ];
    for (const query of queries) {
      const local = await writer.logs.readWindow(step.stdout, query);
      const remote = await other.logs.readWindow(step.stdout, query);
      expect(remote, JSON.stringify(query)).toEqual(local);
    }
    expect((await other.logs.readWindow(step.stdout, { tail: 2 }))?.content).toBe(
      lines.slice(-2).join('\n'),
    );
    expect(await other.logs.readWindow(step.stderr, {})).toEqual({
      content: 'oops',
      lineCount: 1,
      totalLines: 1,
    });
    expect(await other.logs.readTail(step.stdout, 12)).toBe(
      await writer.logs.readTail(step.stdout, 12),
    );
    expect((await other.logs.readWindow(run.ref, {}))?.content).toBe('run started');
    expect(await other.logs.readWindow('/nowhere/at/all.out', {})).toBeUndefined();
    expect(await other.logs.readTail('/nowhere/at/all.out', 10)).toBeUndefined();
  });

  it('shows the tail of an open log to another server while it is written', async () => {
    const run = await writer.logs.openRun(targetOf());
    const step = await run.openStep('live', new Date());
    // Opened and empty: another server knows the log (an empty window, not "no such log").
    await waitFor(
      async () => (await other.logs.readWindow(step.stdout, {}))?.content === '',
      'the empty log on the other server',
    );
    for (const line of ['first', 'second', 'third']) {
      await childWrites(step, `${line}\n`);
      await waitFor(
        async () => (await other.logs.readWindow(step.stdout, { tail: 1 }))?.content === line,
        `"${line}" on the other server`,
      );
    }
    step.close();
    run.close();
  });

  it('appends a retried step to its stored copy and cuts a log at the cap with a marker', async () => {
    await other.close();
    other = await openPostgresStore({
      url: handle.url!,
      home: join(work, `capped-${counter}`),
      poolSize: 2,
      reapAbandoned: false,
      logShipping: { flushMs: 20, chunkBytes: 100, maxBytesPerLog: 250 },
    });
    const run = await other.logs.openRun(targetOf());
    const at = new Date();
    const first = await run.openStep('again', at);
    first.write('stdout', 'one\n');
    first.close();
    const second = await run.openStep('again', at);
    second.write('stdout', 'two\n');
    second.close();
    const big = await run.openStep('big', at);
    big.write('stdout', `${'y'.repeat(99)}\n`.repeat(10));
    big.close();
    run.close();
    await (other.logs as unknown as { flush(): Promise<void> }).flush();

    expect((await writer.logs.readWindow(second.stdout, {}))?.content).toBe('one\ntwo');
    const cut = (await writer.logs.readWindow(big.stdout, { tail: 2 }))!.content;
    expect(cut).toMatch(
      /^y+\n\[dagu-ts: log truncated in the database at 250 bytes; the whole log is in /,
    );
    const [row] = await handle.sql('SELECT size, truncated FROM log_files WHERE ref = ?', [
      big.stdout,
    ]);
    expect(row!.truncated).toBe(true);
    // The local file keeps everything.
    expect((await other.logs.readWindow(big.stdout, {}))?.totalLines).toBe(10);
  });

  it('deletes the logs of runs from the database and follows a renamed DAG', async () => {
    const dag = dagOf('renamed-from', ['s']);
    const target = targetOf('renamed-from');
    const run = await writer.logs.openRun(target);
    const step = await run.openStep('s', new Date());
    step.write('stdout', 'kept\n');
    step.close();
    run.close();
    await (writer.logs as unknown as { flush(): Promise<void> }).flush();

    const move = await writer.logs.moveDagLogs('renamed-from', 'renamed-to');
    expect(move).toBeDefined();
    const moved = move!(step.stdout);
    expect(moved).not.toBe(step.stdout);
    expect((await other.logs.readWindow(moved, {}))?.content).toBe('kept');
    expect(await other.logs.readWindow(step.stdout, {})).toBeUndefined();

    const snapshot: DagRunSnapshot = snapshotOf(dag, {
      name: 'renamed-to',
      dagRunId: target.dagRunId,
      attemptId: target.attemptId,
      log: move!(run.ref),
    });
    snapshot.nodes[0]!.stdout = moved;
    await other.logs.deleteRunLogs([snapshot]);
    expect(await other.logs.readWindow(moved, {})).toBeUndefined();
    expect(await handle.sql('SELECT COUNT(*)::int AS n FROM log_chunks')).toEqual([{ n: 0 }]);
  });

  it('forgets the logs of an attempt whose start was discarded', async () => {
    const run = await writer.logs.openRun(targetOf());
    run.log('about to fail');
    await run.discard();
    expect(await other.logs.readWindow(run.ref, {})).toBeUndefined();
    expect(await handle.sql('SELECT COUNT(*)::int AS n FROM log_files')).toEqual([{ n: 0 }]);
  });
});
