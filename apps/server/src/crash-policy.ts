// What the server does with an error that nothing caught. A store that cannot be written (disk
// full, read-only database) is an outside condition that passes: the server logs it and keeps
// serving, since every write path leaves its state consistent when a write fails. Anything else
// means a bug whose state nobody knows, so the server logs it and exits (a supervisor restarts
// it, and recovery closes its runs and ends their steps).
import { isStoreUnavailable } from '@dagu-ts/core';
import { toStoreError } from '@dagu-ts/store';
import type { Logger } from './logger.js';

export type UncaughtKind = 'uncaughtException' | 'unhandledRejection';

/** Whether the server may go on after `error` reached the top of the event loop. */
export function isSurvivable(error: unknown): boolean {
  return isStoreUnavailable(error) || isStoreUnavailable(toStoreError(error));
}

/** Logs an uncaught error; exits with 1 unless it is survivable. */
export function handleUncaught(
  kind: UncaughtKind,
  error: unknown,
  logger: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): void {
  const survivable = isSurvivable(error);
  logger.error(survivable ? 'store unavailable; the server goes on' : 'uncaught error; exiting', {
    kind,
    error: error instanceof Error ? error.message : String(error),
    code: (error as { code?: unknown } | null)?.code,
    stack: error instanceof Error ? error.stack : undefined,
  });
  if (!survivable) exit(1);
}

export function installCrashPolicy(logger: Logger): void {
  for (const kind of ['uncaughtException', 'unhandledRejection'] as const)
    process.on(kind, (error: unknown) => handleUncaught(kind, error, logger));
}
