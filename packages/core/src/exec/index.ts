// Executors: what runs one execution of a step, by its `executor.type` (dag-yaml.md §6).
export { ExecutorRegistry, reportOutcome } from './executor.js';
export type {
  ChildRunRequest,
  Executor,
  ExecutorContext,
  ExecutorOutcome,
  ExecutorResult,
} from './executor.js';
export { createExecutorRegistry } from './builtin.js';
export { evaluateStepConfig, stepEvalContext } from './config.js';
export { runJq, MAX_JQ_QUERY_BYTES } from './jq.js';
export type { JqOptions } from './jq.js';
export { runHttp, parseHttpConfig } from './http.js';
export type { HttpOptions, HttpConfig } from './http.js';
