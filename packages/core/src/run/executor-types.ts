// The executor types this engine can run. The loader accepts any type (a Dagu file may name an
// executor another installation has, and the step then fails when it starts); `validate` uses
// the executor registry to say up front which steps would fail that way.
import type { Dag } from '../dag/model.js';
import type { ValidationIssue } from '../errors.js';
import { builtInExecutors } from '../exec/builtin.js';
import type { ExecutorRegistry } from '../exec/executor.js';

/** The step types of the built-in executors ('' is a step without `executor:`). */
export const EXECUTOR_TYPES: readonly string[] = builtInExecutors.types();

/**
 * One issue per step (handlers and local DAGs included) whose executor type is not runnable
 * with `executors` (default: the built-in ones).
 */
export function unknownExecutorIssues(
  dag: Dag,
  executors: ExecutorRegistry = builtInExecutors,
): ValidationIssue[] {
  const known = executors.types();
  const issues: ValidationIssue[] = [];
  const visit = (owner: Dag, prefix: string): void => {
    const steps = [...owner.steps, ...Object.values(owner.handlerOn)];
    for (const step of steps) {
      if (step && !known.includes(step.executor.type))
        issues.push({
          path: `${prefix}step "${step.name}"`,
          line: step.line,
          message: `executor type "${step.executor.type}" is not supported by this engine (known: ${known.filter(Boolean).join(', ')})`,
        });
    }
    for (const local of owner.localDags) visit(local, `${prefix}DAG "${local.name}": `);
  };
  visit(dag, '');
  return issues;
}
