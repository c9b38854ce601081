// The JSON shapes in which Dagu presents runs (api-v2.md §3.5, §3.11–§3.14; also the CLI's
// `status --json`, which imports this module through the light entry `@dagu-ts/api/run-views`
// so that it never loads Express): optional fields are left out when empty, times are RFC 3339 to the second
// in the server's time zone, untouched nodes show "-". Typed with the document's types.
import {
  dagRunStatusLabel,
  nodeStatusLabel,
  type Condition as DagCondition,
  type ConditionResult,
  type DagRunSnapshot,
  type NodeState,
  type Step as DagStep,
} from '@dagu-ts/core';
import type { Condition, DAGRunDetails, DAGRunSummary, Node, Schemas, Step } from './wire.js';

/** The keys of `T` whose value is '', 0, false, undefined or [] are left out. */
type OmitEmpty<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/** Drops keys whose value is '', 0, false, undefined or an empty array (Dagu's omitempty). */
export function omitEmpty<T extends object>(object: T): OmitEmpty<T> {
  return Object.fromEntries(
    Object.entries(object).filter(
      ([, v]) =>
        v !== '' &&
        v !== 0 &&
        v !== false &&
        v !== undefined &&
        !(Array.isArray(v) && v.length === 0),
    ),
  ) as OmitEmpty<T>;
}

/** ISO time → RFC 3339 with the local offset, second precision; '' stays ''. */
export function formatRunTime(iso: string): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString().slice(0, 19);
  if (offsetMinutes === 0) return `${local}Z`;
  const sign = offsetMinutes > 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function toConditionDetails(condition: ConditionResult | DagCondition): Condition {
  return {
    condition: condition.condition,
    ...omitEmpty({
      expected: condition.expected,
      error: 'error' in condition ? condition.error : '',
    }),
  };
}

export function toStepDetails(step: DagStep): Step {
  const command = Array.isArray(step.command)
    ? step.command
    : step.command?.split(/\s+/).filter(Boolean);
  const repeat = step.repeatPolicy;
  return {
    // Every step has a name; the rest is omitted when empty.
    name: step.name,
    ...omitEmpty({
      id: step.id,
      description: step.description,
      dir: step.dir,
      cmdWithArgs: Array.isArray(step.command) ? step.command.join(' ') : step.command,
      command: command?.[0],
      script: step.script,
      args: command?.slice(1),
      output: step.output,
      run: step.run,
      params: step.params,
      depends: step.depends,
      repeatPolicy:
        repeat && (repeat.repeat || repeat.intervalSec)
          ? omitEmpty({ repeat: repeat.repeat, interval: repeat.intervalSec })
          : undefined,
      mailOnError: step.mailOnError,
      preconditions: step.preconditions.map(toConditionDetails),
    }),
  };
}

export function toNodeDetails(node: NodeState): Node {
  const untouched = node.status === 0 && !node.startedAt;
  return {
    step: toStepDetails(node.step),
    stdout: node.stdout,
    stderr: node.stderr,
    startedAt: untouched ? '-' : formatRunTime(node.startedAt),
    finishedAt: untouched ? '-' : formatRunTime(node.finishedAt),
    status: node.status,
    statusLabel: nodeStatusLabel(node.status) as Schemas['NodeStatusLabel'],
    retryCount: node.retryCount,
    doneCount: node.doneCount,
    ...omitEmpty({
      children: node.children,
      childrenRepeated: node.childrenRepeated,
      error: node.error,
    }),
  };
}

/** DAGRunSummary (§3.11). */
export function toDagRunSummary(run: DagRunSnapshot): DAGRunSummary {
  return {
    rootDAGRunName: run.root.name,
    rootDAGRunId: run.root.dagRunId,
    ...(run.parent
      ? { parentDAGRunName: run.parent.name, parentDAGRunId: run.parent.dagRunId }
      : {}),
    dagRunId: run.dagRunId,
    name: run.name,
    status: run.status,
    statusLabel: dagRunStatusLabel(run.status) as Schemas['StatusLabel'],
    ...omitEmpty({ queuedAt: formatRunTime(run.queuedAt) }),
    startedAt: formatRunTime(run.startedAt),
    finishedAt: formatRunTime(run.finishedAt),
    log: run.log,
    ...omitEmpty({ params: run.params }),
  };
}

/** DAGRunDetails (§3.12): the summary (without queuedAt), nodes, handlers and preconditions. */
export function toDagRunDetails(run: DagRunSnapshot): DAGRunDetails {
  const { queuedAt: _queuedAt, ...summary } = toDagRunSummary(run);
  const handlers: Partial<Record<keyof typeof run.handlers, Node>> = Object.fromEntries(
    Object.entries(run.handlers).map(([name, node]) => [name, toNodeDetails(node)]),
  );
  return {
    ...summary,
    nodes: run.nodes.map(toNodeDetails),
    ...handlers,
    preconditions: run.preconditions.map(toConditionDetails),
  };
}
