// The cron scheduler on a real store and launcher, with an injected clock: time zones, DST,
// several schedules, stop/restart, suspend, skipIfSuccessful, restarts and two schedulers.
// The store, the launcher and the scheduler share one clock, and every tick moves it: no
// assertion here depends on the real date.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DagRunStatus, parseDag, RunLauncher, Scheduler, type SchedulerClock } from '@dagu-ts/core';
import { openStore, type Store } from '@dagu-ts/store';

let home: string;
let store: Store;
let launcher: RunLauncher;
let now: Date;
const schedulers: Scheduler[] = [];
const clock: SchedulerClock = { now: () => now, setTimeout: () => ({ cancel: () => undefined }) };

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'dagu-scheduler-'));
  now = new Date('2026-11-29T10:00:30Z');
  store = openStore({ home, now: () => now });
  launcher = new RunLauncher({
    runs: store.runs,
    queue: store.queue,
    cancels: store.cancels,
    logDir: store.paths.logDir,
    sweepIntervalMs: 0,
    clock,
  });
});

afterEach(async () => {
  for (const scheduler of schedulers.splice(0)) await scheduler.stop();
  await launcher.close();
  store.close();
  rmSync(home, { recursive: true, force: true });
});

function dag(name: string, yaml: string): void {
  writeFileSync(join(store.paths.dagsDir, `${name}.yaml`), yaml);
}

async function scheduler(options: { watch?: boolean; timezone?: string } = {}): Promise<Scheduler> {
  const created = new Scheduler({
    dags: store.dags,
    runs: store.runs,
    flags: store.flags,
    ticks: store.ticks,
    launcher,
    clock,
    watch: options.watch ?? false,
    rescanIntervalMs: 0,
    ...(options.timezone ? { timezone: options.timezone } : {}),
  });
  schedulers.push(created);
  await created.reload();
  return created;
}

/** Moves the shared clock to `at` (a few seconds past the minute, as a real tick is) and ticks. */
async function tickAt(s: Scheduler, at: Date | string): Promise<void> {
  const minute = new Date(at);
  now = new Date(minute.getTime() + 2_000);
  await s.tick(minute);
}

async function runsOf(name: string) {
  return (await store.runs.listRuns({ name })).runs;
}

async function settle(name: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (
    (await runsOf(name)).some(
      (r) => r.status === DagRunStatus.Running || r.status === DagRunStatus.Queued,
    )
  ) {
    if (Date.now() > deadline) throw new Error('runs did not settle');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('Scheduler', () => {
  it('fires a schedule at its minute only, with the trigger "schedule"', async () => {
    dag('five', 'schedule: "*/5 * * * *"\nsteps:\n  - {name: a, command: "true"}\n');
    const s = await scheduler();
    await tickAt(s, new Date('2026-11-29T10:04:00Z'));
    expect(await runsOf('five')).toHaveLength(0);
    await tickAt(s, new Date('2026-11-29T10:05:00Z'));
    await settle('five');
    const runs = await runsOf('five');
    expect(runs).toHaveLength(1);
    expect((await store.runs.getRun('five', runs[0]!.dagRunId))?.trigger).toBe('schedule');
  });

  it('honours CRON_TZ= prefixes, the scheduler time zone and several schedules', async () => {
    dag(
      'tokyo',
      'schedule: ["CRON_TZ=Asia/Tokyo 0 9 * * *", "TZ=UTC 30 12 * * *"]\nsteps:\n  - {name: a, command: "true"}\n',
    );
    dag('local', 'schedule: "0 9 * * *"\nsteps:\n  - {name: a, command: "true"}\n');
    const s = await scheduler({ timezone: 'America/New_York' });
    await tickAt(s, new Date('2026-11-29T00:00:00Z')); // 09:00 in Tokyo
    await settle('tokyo');
    await tickAt(s, new Date('2026-11-29T09:00:00Z')); // 09:00 UTC: not the zone of "local"
    await tickAt(s, new Date('2026-11-29T12:30:00Z'));
    await tickAt(s, new Date('2026-11-29T14:00:00Z')); // 09:00 in New York (EST)
    await settle('tokyo');
    await settle('local');
    expect(await runsOf('tokyo')).toHaveLength(2);
    expect(await runsOf('local')).toHaveLength(1);
  });

  it('fires once on a DST day even when the local hour repeats', async () => {
    dag('dst', 'schedule: "TZ=Europe/Berlin 30 2 * * *"\nsteps:\n  - {name: a, command: "true"}\n');
    const s = await scheduler();
    // 2026-10-25: clocks go back at 03:00 CEST, so 02:30 local happens at 00:30Z and 01:30Z.
    let fired = 0;
    for (
      let minute = Date.parse('2026-10-24T22:00:00Z');
      minute < Date.parse('2026-10-25T04:00:00Z');
      minute += 60_000
    ) {
      const entry = { expression: '30 2 * * *', cron: '30 2 * * *', timezone: 'Europe/Berlin' };
      if (s.firesAt(entry, new Date(minute))) fired++;
    }
    expect(fired).toBeGreaterThanOrEqual(1);
    expect(fired).toBeLessThanOrEqual(2);
    await tickAt(s, new Date('2026-10-25T00:30:00Z'));
    await tickAt(s, new Date('2026-10-25T00:30:00Z'));
    await settle('dst');
    expect(await runsOf('dst')).toHaveLength(1);
  });

  it('does not fire twice for one minute: restart mid-minute, or two schedulers on one home', async () => {
    dag('once', 'schedule: "* * * * *"\nsteps:\n  - {name: a, command: "true"}\n');
    const minute = new Date('2026-11-29T10:07:00Z');
    const first = await scheduler();
    const second = await scheduler();
    now = new Date(minute.getTime() + 2_000);
    await Promise.all([first.tick(minute), second.tick(minute)]);
    await first.stop();
    const restarted = await scheduler();
    await tickAt(restarted, new Date(minute.getTime() + 20_000));
    await settle('once');
    expect(await runsOf('once')).toHaveLength(1);
  });

  it('does not schedule suspended DAGs', async () => {
    dag('paused', 'schedule: "* * * * *"\nsteps:\n  - {name: a, command: "true"}\n');
    await store.flags.setSuspended('paused', true);
    const s = await scheduler();
    await tickAt(s, new Date('2026-11-29T10:08:00Z'));
    expect(await runsOf('paused')).toHaveLength(0);
  });

  it('skipIfSuccessful skips when the last run succeeded since the previous tick', async () => {
    dag(
      'skippy',
      'schedule: "0 * * * *"\nskipIfSuccessful: true\nsteps:\n  - {name: a, command: "true"}\n',
    );
    const s = await scheduler();
    // A manual run at 10:20 succeeded: the 11:00 tick (previous tick 10:00) is skipped.
    now = new Date('2026-11-29T10:20:00Z');
    await launcher.start(
      parseDag(
        'schedule: "0 * * * *"\nskipIfSuccessful: true\nsteps:\n  - {name: a, command: "true"}\n',
        { name: 'skippy' },
      ),
      { trigger: 'cli' },
    );
    await settle('skippy');
    expect((await runsOf('skippy'))[0]!.startedAt).toBe('2026-11-29T10:20:00.000Z');
    await tickAt(s, '2026-11-29T11:00:00Z');
    expect(await runsOf('skippy')).toHaveLength(1);
    await tickAt(s, '2026-11-29T12:00:00Z');
    await settle('skippy');
    expect(await runsOf('skippy')).toHaveLength(2);
  });

  it('stop and restart schedules act on the running run', async () => {
    dag(
      'worker',
      'schedule:\n  start: "0 8 * * *"\n  stop: "0 9 * * *"\n  restart: "0 12 * * *"\nsteps:\n  - {name: long, command: sleep 30}\n',
    );
    const s = await scheduler({ timezone: 'UTC' });
    await tickAt(s, new Date('2026-11-29T08:00:00Z'));
    const [first] = await runsOf('worker');
    expect(first?.status).toBe(DagRunStatus.Running);
    await tickAt(s, new Date('2026-11-29T09:00:00Z'));
    await settle('worker');
    expect((await runsOf('worker'))[0]?.status).toBe(DagRunStatus.Canceled);

    await tickAt(s, new Date('2026-11-30T08:00:00Z'));
    await tickAt(s, new Date('2026-11-30T12:00:00Z'));
    const runs = await runsOf('worker');
    expect(runs.map((r) => r.status).sort()).toEqual(
      [DagRunStatus.Running, DagRunStatus.Canceled, DagRunStatus.Canceled].sort(),
    );
    await launcher.close();
  });

  // No periodic rescan here: only the repository's watch (FileDagRepository.watch) reports changes.
  it('reloads schedules when DAG files are added, changed or deleted', async () => {
    dag('hot', 'steps:\n  - {name: a, command: "true"}\n');
    const s = await scheduler({ watch: true });
    await s.start();
    expect(s.scheduledDags()).not.toContain('hot');
    dag('hot', 'schedule: "0 1 * * *"\nsteps:\n  - {name: a, command: "true"}\n');
    const deadline = Date.now() + 5_000;
    while (!s.scheduledDags().includes('hot') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(s.scheduledDags()).toContain('hot');
    unlinkSync(join(store.paths.dagsDir, 'hot.yaml'));
    while (s.scheduledDags().includes('hot') && Date.now() < deadline + 5_000)
      await new Promise((r) => setTimeout(r, 20));
    expect(s.scheduledDags()).not.toContain('hot');
  });
  // Every decision of the scheduler (fire, skip, stop, restart) reads the injected clock: the
  // same scenario yields the same runs whether the clock stands years before or after today.
  it('yields the same runs with the clock years before and years after the real date', async () => {
    const realYear = new Date().getUTCFullYear();
    const outcomes: string[][] = [];
    for (const year of [realYear - 9, realYear + 9]) {
      const day = (hour: number, minute = 0) =>
        new Date(Date.UTC(year, 5, 10, hour, minute)).toISOString();
      const name = `shift${year}`;
      dag(
        name,
        'schedule: "*/30 8-9 * * *"\nskipIfSuccessful: true\nsteps:\n  - {name: a, command: "true"}\n',
      );
      const s = await scheduler({ timezone: 'UTC' });
      for (const minute of [0, 30, 60, 90, 120]) {
        await tickAt(s, new Date(Date.parse(day(8)) + minute * 60_000));
        await settle(name);
      }
      await tickAt(s, day(8, 30)); // a minute already claimed: nothing fires twice
      const runs = await runsOf(name);
      outcomes.push(runs.map((run) => `${run.startedAt.slice(4)} ${run.status}`).sort());
    }
    // 08:30 and 09:30 are skipped: the run of the previous tick succeeded (skipIfSuccessful).
    expect(outcomes[0]).toEqual([
      `-06-10T08:00:02.000Z ${DagRunStatus.Success}`,
      `-06-10T09:00:02.000Z ${DagRunStatus.Success}`,
    ]);
    expect(outcomes[1]).toEqual(outcomes[0]);
  });
});
