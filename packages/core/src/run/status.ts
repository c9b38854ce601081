// Status codes of runs and steps, as Dagu persists them (dag-yaml.md Part B conventions).

export const DagRunStatus = {
  NotStarted: 0,
  Running: 1,
  Failed: 2,
  Canceled: 3,
  Success: 4,
  Queued: 5,
  PartialSuccess: 6,
} as const;
export type DagRunStatus = (typeof DagRunStatus)[keyof typeof DagRunStatus];

export const NodeStatus = {
  NotStarted: 0,
  Running: 1,
  Failed: 2,
  Canceled: 3,
  Success: 4,
  Skipped: 5,
} as const;
export type NodeStatus = (typeof NodeStatus)[keyof typeof NodeStatus];

const RUN_LABELS: Record<DagRunStatus, string> = {
  0: 'not started',
  1: 'running',
  2: 'failed',
  3: 'canceled',
  4: 'finished',
  5: 'queued',
  6: 'partial success',
};

const NODE_LABELS: Record<NodeStatus, string> = {
  0: 'not started',
  1: 'running',
  2: 'failed',
  3: 'canceled',
  4: 'finished',
  5: 'skipped',
};

export function dagRunStatusLabel(status: DagRunStatus): string {
  return RUN_LABELS[status];
}

export function nodeStatusLabel(status: NodeStatus): string {
  return NODE_LABELS[status];
}
