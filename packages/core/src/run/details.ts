// The JSON shapes in which Dagu presents runs (REST API v2 §3.5, §3.11–§3.14, and `status
// --json`): optional fields are left out when empty, times are RFC 3339 to the second in the
// engine's time zone, untouched nodes show "-".
import type { Condition, Step } from '../dag/model.js';
import { dagRunStatusLabel, nodeStatusLabel } from './status.js';
import type { ConditionResult, DagRunSnapshot, NodeState } from './types.js';

type Json = Record<string, unknown>;

/** Drops keys whose value is '', 0, false, undefined or an empty array (Dagu's omitempty). */
export function omitEmpty(object: Json): Json {
  return Object.fromEntries(
    Object.entries(object).filter(
      ([, v]) =>
        v !== '' &&
        v !== 0 &&
        v !== false &&
        v !== undefined &&
        !(Array.isArray(v) && v.length === 0),
    ),
  );
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

export function toConditionDetails(condition: ConditionResult | Condition): Json {
  return {
    condition: condition.condition,
    ...omitEmpty({
      expected: condition.expected,
      error: 'error' in condition ? condition.error : '',
    }),
  };
}

export function toStepDetails(step: Step): Json {
  const command = Array.isArray(step.command)
    ? step.command
    : step.command?.split(/\s+/).filter(Boolean);
  const repeat = step.repeatPolicy;
  return omitEmpty({
    name: step.name,
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
  });
}

export function toNodeDetails(node: NodeState): Json {
  const untouched = node.status === 0 && !node.startedAt;
  return {
    step: toStepDetails(node.step),
    stdout: node.stdout,
    stderr: node.stderr,
    startedAt: untouched ? '-' : formatRunTime(node.startedAt),
    finishedAt: untouched ? '-' : formatRunTime(node.finishedAt),
    status: node.status,
    statusLabel: nodeStatusLabel(node.status),
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
export function toDagRunSummary(run: DagRunSnapshot): Json {
  return {
    rootDAGRunName: run.root.name,
    rootDAGRunId: run.root.dagRunId,
    ...(run.parent
      ? { parentDAGRunName: run.parent.name, parentDAGRunId: run.parent.dagRunId }
      : {}),
    dagRunId: run.dagRunId,
    name: run.name,
    status: run.status,
    statusLabel: dagRunStatusLabel(run.status),
    ...omitEmpty({ queuedAt: formatRunTime(run.queuedAt) }),
    startedAt: formatRunTime(run.startedAt),
    finishedAt: formatRunTime(run.finishedAt),
    log: run.log,
    ...omitEmpty({ params: run.params }),
  };
}

/** DAGRunDetails (§3.12): the summary (without queuedAt), nodes, handlers and preconditions. */
export function toDagRunDetails(run: DagRunSnapshot): Json {
  const { queuedAt: _queuedAt, ...summary } = toDagRunSummary(run);
  const handlers = Object.fromEntries(
    Object.entries(run.handlers).map(([name, node]) => [name, toNodeDetails(node)]),
  );
  return {
    ...summary,
    nodes: run.nodes.map(toNodeDetails),
    ...handlers,
    preconditions: run.preconditions.map(toConditionDetails),
  };
}
