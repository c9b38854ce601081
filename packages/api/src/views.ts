// The JSON shapes of DAG definitions (api-v2.md §3.7–§3.9, §3.15) and the helpers the routes
// share for run shapes; run shapes themselves are in run-views.ts (toDagRunDetails & co.).
import {
  DagRunStatus,
  HANDLER_NAMES,
  describeDefaultParams,
  newNodeState,
  type Dag,
  type DagMetadata,
  type DagRunSnapshot,
  type HandlerName,
} from '@dagu-ts/core';
import { omitEmpty, toStepDetails } from './run-views.js';
import type { DAG, DAGDetails, DAGGridItem, LocalDag, Schemas } from './wire.js';

/** DAG (§3.7), the listing form. */
export function toDagSummary(metadata: DagMetadata): DAG {
  return {
    name: metadata.name,
    ...omitEmpty({
      group: metadata.group,
      description: metadata.description,
      schedule: metadata.schedule.start.map((entry) => ({ expression: entry.expression })),
      params: metadata.params,
      defaultParams: metadata.defaultParams,
      tags: metadata.tags,
    }),
  };
}

/** The listing view of a full DAG (for search results of parseable files and spec views). */
export function metadataOf(dag: Dag): DagMetadata {
  return {
    name: dag.name,
    group: dag.group,
    description: dag.description,
    tags: dag.tags,
    schedule: dag.schedule,
    ...describeDefaultParams(dag.params),
    queue: dag.queue,
    maxActiveRuns: dag.maxActiveRuns,
  };
}

const HANDLER_KEYS: Record<HandlerName, keyof Schemas['HandlerOn']> = {
  onSuccess: 'success',
  onFailure: 'failure',
  onCancel: 'cancel',
  onExit: 'exit',
};

/** DAGDetails (§3.8): the DAG fields plus env, steps, handlers and limits; nothing evaluated. */
export function toDagDetails(dag: Dag): DAGDetails {
  const handlerOn: Schemas['HandlerOn'] = Object.fromEntries(
    HANDLER_NAMES.flatMap((name) => {
      const step = dag.handlerOn[name];
      return step ? [[HANDLER_KEYS[name], toStepDetails(step)]] : [];
    }),
  );
  return {
    ...toDagSummary(metadataOf(dag)),
    ...omitEmpty({
      env: dag.env.map((entry) => `${entry.key}=${entry.value}`),
      logDir: dag.logDir,
      handlerOn: Object.keys(handlerOn).length > 0 ? handlerOn : undefined,
      steps: dag.steps.map(toStepDetails),
      delay: dag.delaySec,
      histRetentionDays: dag.histRetentionDays,
      preconditions: dag.preconditions.map((condition) => ({
        condition: condition.condition,
        ...omitEmpty({ expected: condition.expected }),
      })),
      maxActiveDAGRuns: dag.maxActiveRuns,
      maxActiveSteps: dag.maxActiveSteps,
    }),
  };
}

/** LocalDag (§3.9), sorted by name by the caller. */
export function toLocalDag(dag: Dag): LocalDag {
  return { name: dag.name, dag: toDagDetails(dag), errors: [] };
}

/**
 * The "no run yet" status (§3.11 note): status 0, empty ids and times, default params, and the
 * nodes of the DAG's steps and handlers (none when only the listing view is known).
 */
export function syntheticRun(dag: Dag | DagMetadata): DagRunSnapshot {
  const full = 'steps' in dag ? dag : undefined;
  const params = full ? describeDefaultParams(full.params).params : (dag as DagMetadata).params;
  return {
    name: dag.name,
    dagRunId: '',
    attemptId: '',
    root: { name: dag.name, dagRunId: '' },
    parent: undefined,
    status: DagRunStatus.NotStarted,
    pid: 0,
    queuedAt: '',
    startedAt: '',
    finishedAt: '',
    log: '',
    params: params.join(' '),
    paramsList: params,
    nodes: full ? full.steps.map(newNodeState) : [],
    handlers: Object.fromEntries(
      HANDLER_NAMES.flatMap((name) => {
        const step = full?.handlerOn[name];
        return step ? [[name, newNodeState(step)]] : [];
      }),
    ),
    preconditions: [],
    error: '',
  };
}

/** The run-level fields a summary needs (a full snapshot, or a store's lighter summary row). */
export type RunSummaryFields = Pick<
  DagRunSnapshot,
  | 'name'
  | 'dagRunId'
  | 'root'
  | 'parent'
  | 'status'
  | 'queuedAt'
  | 'startedAt'
  | 'finishedAt'
  | 'log'
  | 'params'
>;

/** A full snapshot shape around summary fields, for toDagRunSummary. */
export function asSnapshot(run: RunSummaryFields): DagRunSnapshot {
  return {
    attemptId: '',
    pid: 0,
    paramsList: [],
    nodes: [],
    handlers: {},
    preconditions: [],
    error: '',
    ...run,
  };
}

/** DAGGridItem[] (§3.15): steps by name, then the handlers that appear; index 0 = newest run. */
export function gridData(runs: readonly DagRunSnapshot[]): DAGGridItem[] {
  const steps = new Set<string>();
  const handlers = new Set<HandlerName>();
  for (const run of runs) {
    for (const node of run.nodes) steps.add(node.step.name);
    for (const name of HANDLER_NAMES) if (run.handlers[name]) handlers.add(name);
  }
  const stepItems = [...steps]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((name) => ({
      name,
      history: runs.map((run) => run.nodes.findLast((n) => n.step.name === name)?.status ?? 0),
    }));
  const handlerItems = HANDLER_NAMES.filter((name) => handlers.has(name)).map((name) => ({
    name,
    history: runs.map((run) => run.handlers[name]?.status ?? 0),
  }));
  return [...stepItems, ...handlerItems];
}
