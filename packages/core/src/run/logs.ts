// Where a run's log files go (dag-yaml.md §4.11):
// <logBase>/<safe dag>/dag-run_<UTC stamp>_<runId>/dag-run_<local stamp>.<id8>.log
//                                                 /run_<UTC stamp>_<attemptId>/<safe step>.<local stamp>.<id8>.out|.err
import { join } from 'node:path';

/** Every character outside [A-Za-z0-9_-] becomes `_`; at most 100 characters. */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** `yyyyMMdd_HHmmssZ` in UTC. */
export function utcStamp(date: Date): string {
  return `${date.getUTCFullYear()}${pad(date.getUTCMonth() + 1)}${pad(date.getUTCDate())}_${pad(date.getUTCHours())}${pad(date.getUTCMinutes())}${pad(date.getUTCSeconds())}Z`;
}

/** `yyyyMMdd.HHmmss.SSS` in local time. */
export function localStamp(date: Date): string {
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}.${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}

export interface RunLogLayout {
  runDir: string;
  runLogFile: string;
  attemptDir: string;
  stepLogFile(stepName: string, stream: 'out' | 'err', at: Date): string;
}

export function runLogLayout(
  logBase: string,
  dagName: string,
  dagRunId: string,
  attemptId: string,
  startedAt: Date,
): RunLogLayout {
  const id8 = dagRunId.replace(/-/g, '').slice(0, 8);
  const runDir = join(logBase, safeName(dagName), `dag-run_${utcStamp(startedAt)}_${dagRunId}`);
  const attemptDir = join(runDir, `run_${utcStamp(startedAt)}_${attemptId}`);
  return {
    runDir,
    runLogFile: join(runDir, `dag-run_${localStamp(startedAt)}.${id8}.log`),
    attemptDir,
    stepLogFile: (stepName, stream, at) =>
      join(attemptDir, `${safeName(stepName)}.${localStamp(at)}.${id8}.${stream}`),
  };
}
