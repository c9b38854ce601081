// Schedule expressions (dag-yaml.md §5.1 + Part A #6): five cron fields, an optional
// `CRON_TZ=`/`TZ=` prefix, and the five descriptors @hourly…@yearly. Parsing of the fields is
// left to cron-parser, which the scheduler also uses for next-fire times.
import { CronExpressionParser } from 'cron-parser';
import type { ScheduleEntry } from './model.js';

export const SCHEDULE_DESCRIPTORS: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
};

const TZ_PREFIX = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/;

const parsedExpressions = new Map<string, ScheduleEntry | string>();
const MAX_CACHED_EXPRESSIONS = 2000;

/** Splits and validates one expression; returns an error message when it is invalid. */
export function parseScheduleExpression(expression: string): ScheduleEntry | string {
  // The same few expressions recur across thousands of DAG files: parse each once.
  const cached = parsedExpressions.get(expression);
  if (cached !== undefined) return typeof cached === 'string' ? cached : { ...cached };
  const parsed = parseUncached(expression);
  if (parsedExpressions.size >= MAX_CACHED_EXPRESSIONS) parsedExpressions.clear();
  parsedExpressions.set(expression, parsed);
  return typeof parsed === 'string' ? parsed : { ...parsed };
}

function parseUncached(expression: string): ScheduleEntry | string {
  const trimmed = expression.trim();
  let cron = trimmed;
  let timezone: string | undefined;
  const prefix = TZ_PREFIX.exec(trimmed);
  if (prefix) {
    timezone = prefix[1]!;
    cron = prefix[2]!.trim();
    if (!isValidTimeZone(timezone))
      return `invalid schedule "${expression}": unknown time zone "${timezone}"`;
  }
  const fields = SCHEDULE_DESCRIPTORS[cron.toLowerCase()] ?? cron;
  if (cron.startsWith('@') && !SCHEDULE_DESCRIPTORS[cron.toLowerCase()]) {
    return `invalid schedule "${expression}": only @hourly, @daily, @weekly, @monthly and @yearly are supported`;
  }
  if (fields.split(/\s+/).length !== 5) {
    return `invalid schedule "${expression}": expected 5 fields (minute hour day-of-month month day-of-week)`;
  }
  try {
    CronExpressionParser.parse(fields, timezone ? { tz: timezone } : {});
  } catch (error) {
    return `invalid schedule "${expression}": ${(error as Error).message}`;
  }
  return { expression: trimmed, cron: fields, timezone };
}

function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
