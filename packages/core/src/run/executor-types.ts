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
 * Types Dagu has that this engine does not run yet, with the reason. `docker` needs a Docker
 * engine API, which dagu-ts does not drive yet (no executor is shipped untested).
 */
const NOT_SUPPORTED_YET: Readonly<Record<string, string>> = {
  docker:
    'docker steps are not supported yet: dagu-ts has no Docker executor (it needs a Docker engine, reached through DOCKER_HOST or /var/run/docker.sock)',
};

/** Why a step of `type` cannot run: the error of such a step. */
export function invalidExecutorError(type: string): string {
  const reason = NOT_SUPPORTED_YET[type];
  return reason
    ? `invalid executor: ${reason}`
    : `invalid executor: "${type}" is not a known executor type`;
}

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
          message:
            NOT_SUPPORTED_YET[step.executor.type] ??
            `executor type "${step.executor.type}" is not supported by this engine (known: ${known.filter(Boolean).join(', ')})`,
        });
    }
    for (const local of owner.localDags) visit(local, `${prefix}DAG "${local.name}": `);
  };
  visit(dag, '');
  return issues;
}
