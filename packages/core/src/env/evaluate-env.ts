// DAG `env` evaluation at load time (dag-yaml.md §3.6).
import { substituteBackticks } from '../eval/backticks.js';
import { expandOsEnv } from '../eval/expand-os-env.js';
import type { ShellRunner } from '../eval/shell-runner.js';

export interface EnvEntry {
  key: string;
  value: string;
}

/**
 * Evaluates each value (backticks, then env expansion against `env`) and exports it into `env`
 * at once, so later entries see earlier ones. Params are resolved after env, so they are not
 * visible here (QUIRK, corpus C20). A key given twice keeps its first position and last value,
 * as Dagu keeps one value per key. For step-level env, pass a copy of the run's map.
 */
export async function evaluateEnvEntries(
  entries: readonly EnvEntry[],
  env: Map<string, string>,
  runShell: ShellRunner,
): Promise<EnvEntry[]> {
  const evaluated = new Map<string, string>();
  for (const { key, value } of entries) {
    let result: string;
    try {
      result = expandOsEnv(await substituteBackticks(value, runShell), env);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`env: invalid value for ${key}: ${reason}`, { cause: error });
    }
    env.set(key, result);
    evaluated.set(key, result);
  }
  return [...evaluated].map(([key, value]) => ({ key, value }));
}
