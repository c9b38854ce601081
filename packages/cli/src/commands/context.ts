// What the persisted commands share: the composition of the configured home (store and run
// launcher, as the server has them), and turning a <dag> argument into a DAG name (a file path
// or a DAG file name is loaded; anything else is taken as the DAG name itself, so runs of a
// deleted file stay reachable).
import { existsSync } from 'node:fs';
import { isValidDagRunId, loadDagMetadata } from '@dagu-ts/core';
import { composeDagu, type Dagu } from '@dagu-ts/server';
import type { DaguStore as Store } from '@dagu-ts/server';
import { cliConfig } from '../settings.js';
import { resolveDagPath } from './resolve-dag.js';

export type { Dagu, Store };

/**
 * From how many steps a run forks its steps through the spawn helper rather than from this
 * process. A fork copies the page tables of the forking process, which grow with the run: from
 * the CLI a fork costs more than from the helper (a bare Node), while starting the helper costs
 * one Node start-up of CPU beside the steps. Measured with bench/executor (chain of `true`, 2
 * cores): at 50 steps forking here is ahead (1.18 vs 1.29 × a bare spawn loop), at 100 even, at
 * 200 the helper is ahead. The first steps do not wait for the helper: they are forked here
 * until it is up.
 */
export const SPAWN_HELPER_MIN_STEPS = 100;

/**
 * Runs `action` on the composition, then waits for every run it started in this process. The
 * launcher starts only the runs a command asks for: the queues are a server's or scheduler's.
 * `spawnHelper`: fork steps through the helper once it is up (see SPAWN_HELPER_MIN_STEPS).
 */
export async function withDagu<T>(
  action: (dagu: Dagu) => Promise<T>,
  options: { spawnHelper?: boolean } = {},
): Promise<T> {
  const dagu = await composeDagu(cliConfig(), {
    dispatchQueues: false,
    spawnHelper: options.spawnHelper ? 'when-ready' : false,
  });
  try {
    return await action(dagu);
  } finally {
    await dagu.close(Infinity);
  }
}

export function withStore<T>(action: (store: Store) => Promise<T>): Promise<T> {
  return withDagu((dagu) => action(dagu.store));
}

export async function dagNameOf(dagArg: string): Promise<string> {
  const path = resolveDagPath(dagArg);
  if (existsSync(path)) {
    try {
      return (await loadDagMetadata(path)).name;
    } catch {
      // An invalid file still names its runs after the file.
    }
  }
  return (
    dagArg
      .replace(/\.ya?ml$/, '')
      .split('/')
      .at(-1) ?? dagArg
  );
}

export function fail(message: string): number {
  process.stderr.write(`${message}\n`);
  return 1;
}

/** Polls `check` every `intervalMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Why a caller-chosen run id cannot be used for a new run of `dagName`; undefined when it can. */
export async function newRunIdProblem(
  store: Store,
  dagName: string,
  runId: string | undefined,
): Promise<string | undefined> {
  if (runId === undefined) return undefined;
  if (!isValidDagRunId(runId)) {
    return `invalid run id ${JSON.stringify(runId)}: start with a letter or digit, then letters, digits, ., _ or - (at most 64)`;
  }
  if (await store.runs.getRun(dagName, runId))
    return `dag-run ID ${runId} already exists for DAG ${dagName}`;
  return undefined;
}
