// @dagu-ts/worker: the worker of distributed execution, for `dagu-ts worker` and embedders.
export { Worker } from './worker.js';
export type { WorkerOptions } from './worker.js';
export {
  workerMain,
  workerOptionsFrom,
  parseLabels,
  WORKER_USAGE,
  WorkerConfigError,
} from './cli.js';
export { RemoteLogStore } from './remote-logs.js';
