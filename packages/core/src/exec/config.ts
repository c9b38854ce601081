// Substitution for in-process executors (jq, http, and executors registered from outside):
// their `command`, `script` and `executor.config` are evaluated here, not by a shell.
import { evaluateString, type EvalContext } from '../eval/index.js';
import type { ExecutorContext } from './executor.js';

/** The step's substitution context for text that no shell reads (backticks and $VAR expanded). */
export function stepEvalContext(context: ExecutorContext): EvalContext {
  return { ...context.evalContext(), backticks: true, osEnv: true, target: 'text' };
}

/**
 * `executor.config` with every string leaf evaluated (§3.2) and keys lower-cased. Config strings
 * see outputs and step variables only; params reach them through the environment.
 */
export async function evaluateStepConfig(
  context: ExecutorContext,
): Promise<Record<string, unknown>> {
  return (await evaluateConfigValue(context, context.node.step.executor.config)) as Record<
    string,
    unknown
  >;
}

/** Any config-like value (the DAG's `smtp` for the mail executor) evaluated like `executor.config`. */
export async function evaluateConfigValue(
  context: ExecutorContext,
  value: unknown,
): Promise<unknown> {
  const { maps, untrusted, runShell } = stepEvalContext(context);
  const [, stepVars = new Map<string, string>(), outputs = new Map<string, string>()] = maps;
  const evalContext: EvalContext = {
    maps: [outputs, stepVars],
    // The step's process env: params and DAG_* reach config strings through it (§3.2).
    env: new Map(Object.entries(context.env)),
    backticks: true,
    osEnv: true,
    target: 'text',
    ...(untrusted ? { untrusted } : {}),
    ...(runShell ? { runShell } : {}),
  };
  const visit = async (value: unknown): Promise<unknown> => {
    if (typeof value === 'string') return evaluateString(value, evalContext);
    if (Array.isArray(value)) return Promise.all(value.map(visit));
    if (value && typeof value === 'object') {
      const entries = await Promise.all(
        Object.entries(value).map(async ([k, v]) => [k.toLowerCase(), await visit(v)] as const),
      );
      return Object.fromEntries(entries);
    }
    return value;
  };
  return visit(value);
}
