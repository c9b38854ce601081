// The log window of api-v2.md §6, shared by the four log endpoints: the log store reads it
// (tail > head > offset > default, `limit` default 1000); a log it does not have is a 404.
import type { LogStore, LogWindow, LogWindowQuery } from '@dagu-ts/core';
import { notFound } from './errors.js';

export type { LogWindow, LogWindowQuery } from '@dagu-ts/core';

/** Reads the window of the log `ref`; a missing log is 404 "Log file not found". */
export async function readLogWindow(
  logs: LogStore,
  ref: string,
  query: LogWindowQuery,
): Promise<LogWindow> {
  const window = ref ? await logs.readWindow(ref, query) : undefined;
  if (!window) throw notFound('Log file not found');
  return window;
}
