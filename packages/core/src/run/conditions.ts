// Preconditions and repeat conditions (dag-yaml.md §2.4).
import type { Condition } from '../dag/model.js';
import { evaluateString, type EvalContext, type ShellRunner } from '../eval/index.js';
import type { ConditionResult } from './types.js';

export interface ConditionContext {
  /** Substitution variables (M1, M2, M3 and step ids) plus the run's env. */
  eval: Omit<EvalContext, 'backticks' | 'osEnv'>;
  /** Runs command-form conditions: `<shell> -c`, the engine's cwd and the run's env. */
  runShell: ShellRunner;
}

/** Evaluates every condition (no short-circuit), as Dagu does. */
export async function evaluateConditions(
  conditions: readonly Condition[],
  context: ConditionContext,
): Promise<ConditionResult[]> {
  const results: ConditionResult[] = [];
  for (const condition of conditions) results.push(await evaluateCondition(condition, context));
  return results;
}

export async function evaluateCondition(
  condition: Condition,
  context: ConditionContext,
): Promise<ConditionResult> {
  const base = { condition: condition.condition, expected: condition.expected };
  try {
    if (condition.expected !== '') {
      const value = await evaluateString(condition.condition, {
        ...context.eval,
        runShell: context.runShell,
        backticks: true,
        osEnv: true,
        target: 'text',
      });
      const met = matchesExpected(value, condition.expected);
      return {
        ...base,
        error: met
          ? ''
          : `condition was not met: expected ${JSON.stringify(condition.expected)}, got ${JSON.stringify(value)}`,
      };
    }
    const command = await evaluateString(condition.condition, {
      ...context.eval,
      backticks: false,
      osEnv: false,
      target: 'shell',
    });
    try {
      await context.runShell(command);
      return { ...base, error: '' };
    } catch {
      return {
        ...base,
        error: `condition was not met: command ${JSON.stringify(command)} exited non-zero`,
      };
    }
  } catch (error) {
    return { ...base, error: `condition could not be evaluated: ${(error as Error).message}` };
  }
}

/** Any line equal to `expected`, or with `re:` any line matching the (unanchored) pattern. */
export function matchesExpected(value: string, expected: string): boolean {
  const lines = value.split('\n');
  if (expected.startsWith('re:')) {
    const pattern = new RegExp(expected.slice(3));
    return lines.some((line) => pattern.test(line));
  }
  return value !== '' && lines.some((line) => line === expected);
}
