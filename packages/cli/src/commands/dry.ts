// `dagu-ts dry`: load, evaluate params and print the plan; no step runs.
import {
  evaluateString,
  prepareRunEnvironment,
  topologicalOrder,
  type ParamsOverride,
  type Step,
} from '@dagu-ts/core';
import { loadDagForCommand } from './load.js';

export async function dryCommand(dagArg: string, params: ParamsOverride): Promise<number> {
  const loaded = await loadDagForCommand(dagArg);
  if (!loaded) return 1;
  const { dag } = loaded;
  let environment;
  try {
    environment = await prepareRunEnvironment(dag, { params });
  } catch (error) {
    process.stderr.write(`${loaded.path}: ${(error as Error).message}\n`);
    return 1;
  }
  const runVars = new Map<string, string>([['DAG_NAME', dag.name]]);
  for (const param of environment.params) runVars.set(param.name, param.value);

  const out: string[] = [];
  out.push(`DAG ${dag.name} (${dag.type}, ${dag.steps.length} step(s))`);
  out.push(
    `params: ${environment.paramsList.length > 0 ? environment.paramsList.join(' ') : '(none)'}`,
  );
  if (dag.preconditions.length > 0) {
    out.push(`preconditions: ${dag.preconditions.map((c) => describeCondition(c)).join('; ')}`);
  }
  const ordered = topologicalOrder(dag.steps);
  const width = Math.max(4, ...ordered.map((s) => s.name.length));
  let index = 0;
  for (const step of ordered) {
    index++;
    // Only run variables are known before a run: outputs and backticks stay as written.
    const action = await evaluateString(describeAction(step), {
      maps: [runVars],
      env: environment.env,
      backticks: false,
      osEnv: false,
    });
    const after = step.depends.length > 0 ? `  (after ${step.depends.join(', ')})` : '';
    out.push(`${String(index).padStart(3)}. ${step.name.padEnd(width)}  ${action}${after}`);
  }
  for (const [name, handler] of Object.entries(dag.handlerOn)) {
    out.push(`handler ${name}: ${describeAction(handler)}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

function describeAction(step: Step): string {
  if (step.run)
    return `run ${step.run}${step.params ? ` ${step.params}` : ''}${step.parallel ? ' (parallel)' : ''}`;
  const command = Array.isArray(step.command) ? step.command.join(' ') : step.command;
  const executor =
    step.executor.type && step.executor.type !== 'command' ? `[${step.executor.type}] ` : '';
  if (step.script !== undefined) {
    const firstLine = step.script.trim().split('\n')[0] ?? '';
    return `${executor}${command ? `${command} ` : ''}<script: ${firstLine}${step.script.trim().includes('\n') ? ' …' : ''}>`;
  }
  return `${executor}${command ?? ''}`;
}

function describeCondition(condition: { condition: string; expected: string }): string {
  return condition.expected
    ? `${condition.condition} == ${condition.expected}`
    : condition.condition;
}
