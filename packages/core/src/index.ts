// @dagu-ts/core: the DAG model, loader and validator, substitution and parameters.
export * from './errors.js';
export * from './dag/model.js';
export {
  parseDag,
  loadDag,
  parseDagMetadata,
  parseDagFile,
  loadDagMetadata,
  describeDefaultParams,
  MAX_DAG_FILE_BYTES,
} from './dag/loader.js';
export type { ParseDagOptions, ParsedDagFile } from './dag/loader.js';
export { DagCatalog } from './dag/catalog.js';
export type { DagCatalogEntry } from './dag/catalog.js';
export { dagNameProblem, MAX_DAG_FILE_NAME_BYTES } from './dag/names.js';
export { parseScheduleExpression, SCHEDULE_DESCRIPTORS } from './dag/schedule.js';
export { findCycle, topologicalOrder } from './dag/graph.js';
export * from './eval/index.js';
export * from './params/index.js';
export * from './env/index.js';
export * from './run/environment.js';
export {
  DagRunner,
  createQueuedSnapshot,
  newNodeState,
  quoteParams,
  recordedParams,
} from './run/runner.js';
export type { DagRunOptions, DagRunResult } from './run/runner.js';
export * from './run/types.js';
export * from './run/status.js';
export { newDagRunId, childDagRunId, isValidDagRunId } from './run/ids.js';
export { safeName } from './run/logs.js';
export { collectChildDags } from './run/dag-lookup.js';
// Every port (LaunchOptions, SchedulerTickStore, RunRecorder… included) is declared there.
export type * from './ports.js';
export { systemClock, type Clock } from './clock.js';
export { EXECUTOR_TYPES, unknownExecutorIssues } from './run/executor-types.js';
export {
  createExecutorRegistry,
  evaluateStepConfig,
  ExecutorRegistry,
  reportOutcome,
  stepEvalContext,
} from './exec/index.js';
export type {
  ChildRunRequest,
  Executor,
  ExecutorContext,
  ExecutorOutcome,
  ExecutorResult,
} from './exec/index.js';
export { RunLauncher } from './launch/launcher.js';
export { expireWorkerLeases } from './launch/worker-leases.js';
export type { ExpiredLease } from './launch/worker-leases.js';
export type { RunLauncherOptions } from './launch/launcher.js';
export { Scheduler } from './schedule/scheduler.js';
export type { SchedulerOptions, SchedulerClock, ScheduleKind } from './schedule/scheduler.js';
export { FileLogStore } from './logs/file-log-store.js';
export { readLogWindow } from './logs/file-window.js';
export type { LogBytes } from './logs/file-window.js';
export { HELPER_IDLE_MS, ProcessSpawner } from './run/spawner.js';
export type { SpawnRequest } from './run/spawner.js';
export type { StepProcessResult } from './run/process.js';
