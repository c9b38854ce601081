export { createShellRunner } from './shell-runner.js';
export type { ShellRunner, ShellRunnerOptions } from './shell-runner.js';
export { expandOsEnv } from './expand-os-env.js';
export { substituteBackticks } from './backticks.js';
export { evaluateJsonPath, formatJsonValue } from './json-path.js';
export type { JsonPathResult } from './json-path.js';
export type { StepIdInfo } from './references.js';
export { evaluateString } from './evaluate.js';
export type { EvalContext } from './evaluate.js';
