// Decoding of one step map (dag-yaml.md §2 and the Part A extensions), plus the shapes that
// steps and DAGs share: conditions, env lists and params definitions.
import { constants as osConstants } from 'node:os';
import type { EnvEntry } from '../env/index.js';
import { quoteParamsForChild, type ParamsDefinition } from '../params/index.js';
import type { Issues } from './decode.js';
import { describeKind, Fields, readFields, scalarToString } from './decode.js';
import type {
  Condition,
  ContinueOn,
  ExecutorSpec,
  ParallelItem,
  ParallelSpec,
  RepeatPolicy,
  RetryPolicy,
  Step,
} from './model.js';
import { toPlain, type YamlNode } from './yaml-tree.js';

const STEP_KEYS = [
  'name',
  'id',
  'description',
  'dir',
  'executor',
  'command',
  'shell',
  'shellPackages',
  'script',
  'stdout',
  'stderr',
  'output',
  'depends',
  'continueOn',
  'retryPolicy',
  'repeatPolicy',
  'mailOnError',
  'precondition',
  'preconditions',
  'signalOnStop',
  'run',
  'params',
  'parallel',
  // Extensions accepted by dagu-ts (Part A #1).
  'env',
  'timeoutSec',
] as const;

const MAX_PARALLEL_ITEMS = 1000;
const DEFAULT_MAX_CONCURRENT = 10;
const SIGNAL_NAMES = new Set(Object.keys(osConstants.signals));

/** A decoded step plus whether it had a `depends` key (chain injection needs to know). */
export interface DecodedStep {
  step: Step;
  hasDependsKey: boolean;
}

export function decodeStep(
  node: YamlNode,
  path: string,
  issues: Issues,
  forcedName?: string,
): DecodedStep | undefined {
  const fields = readFields(node, path, issues, STEP_KEYS);
  if (!fields) return undefined;

  const name = forcedName ?? fields.string('name');
  if (name === undefined || name === '') {
    issues.add(path, node.line, 'step name is required');
  }
  const stepName = name ?? '';

  const command = decodeCommand(fields);
  const script = fields.string('script');
  const run = fields.string('run');
  const executor = decodeExecutor(fields, run);
  const parallel = decodeParallel(fields);
  if (parallel && !run) {
    issues.add(
      fields.pathOf('parallel'),
      fields.get('parallel')!.line,
      'parallel is only allowed on a step with run',
    );
  }
  if (command === undefined && script === undefined && run === undefined && executor.type === '') {
    issues.add(
      path,
      node.line,
      `step "${stepName}": step command is required (command, script, run or executor)`,
    );
  }

  const signalOnStop = fields.string('signalOnStop');
  if (signalOnStop !== undefined && !SIGNAL_NAMES.has(signalOnStop)) {
    issues.add(
      fields.pathOf('signalOnStop'),
      fields.get('signalOnStop')!.line,
      `invalid signal "${signalOnStop}"`,
    );
  }

  const timeoutSec = fields.int('timeoutSec');
  if (timeoutSec !== undefined && timeoutSec <= 0) {
    issues.add(
      fields.pathOf('timeoutSec'),
      fields.get('timeoutSec')!.line,
      'must be greater than 0',
    );
  }

  const paramsEntry = fields.get('params');
  const params = paramsEntry
    ? decodeParamsDefinition(paramsEntry.value, fields.pathOf('params'), issues)
    : undefined;
  const envEntry = fields.get('env');
  const output = fields.string('output');

  const step: Step = {
    name: stepName,
    id: fields.string('id'),
    description: fields.string('description'),
    command,
    script,
    shell: fields.string('shell'),
    shellPackages: fields.stringList('shellPackages') ?? [],
    dir: fields.string('dir'),
    depends: fields.stringList('depends') ?? [],
    output: output?.replace(/^\$/, ''),
    stdout: fields.string('stdout'),
    stderr: fields.string('stderr'),
    env: envEntry ? decodeEnv(envEntry.value) : [],
    preconditions: [
      ...decodeConditions(fields, 'precondition', issues),
      ...decodeConditions(fields, 'preconditions', issues),
    ],
    continueOn: decodeContinueOn(fields, issues),
    retryPolicy: decodeRetryPolicy(fields, issues),
    repeatPolicy: decodeRepeatPolicy(fields, issues),
    mailOnError: fields.bool('mailOnError') ?? false,
    signalOnStop,
    executor,
    run,
    params: params ? quoteParamsForChild(params) : undefined,
    parallel,
    timeoutSec,
    line: node.line,
  };
  return { step, hasDependsKey: fields.has('depends') };
}

function decodeCommand(fields: Fields): string | string[] | undefined {
  const entry = fields.get('command');
  if (!entry) return undefined;
  const value = entry.value;
  if (value.kind === 'scalar') {
    const line = scalarToString(value.value);
    if (line.trim() === '') {
      fields.issues.add(fields.pathOf('command'), entry.line, 'command must not be empty');
      return undefined;
    }
    return line;
  }
  if (value.kind === 'seq') {
    const argv: string[] = [];
    for (const item of value.items) {
      if (item.kind === 'scalar') argv.push(scalarToString(item.value));
      else
        fields.issues.add(
          fields.pathOf('command'),
          item.line,
          `command items must be scalars, got ${describeKind(item)}`,
        );
    }
    if (argv.length === 0) {
      fields.issues.add(fields.pathOf('command'), entry.line, 'command must not be empty');
      return undefined;
    }
    return argv;
  }
  fields.issues.add(fields.pathOf('command'), entry.line, 'command must be a string or a list');
  return undefined;
}

function decodeExecutor(fields: Fields, run: string | undefined): ExecutorSpec {
  const entry = fields.get('executor');
  let spec: ExecutorSpec = { type: '', config: {} };
  if (entry?.value.kind === 'scalar') {
    spec = { type: scalarToString(entry.value.value), config: {} };
  } else if (entry?.value.kind === 'map') {
    const executor = new Fields(entry.value, fields.pathOf('executor'), fields.issues, [
      'type',
      'config',
    ]);
    const config = executor.map('config');
    spec = {
      type: executor.string('type') ?? '',
      config: config ? (toPlain(config) as Record<string, unknown>) : {},
    };
  } else if (entry) {
    fields.issues.add(
      fields.pathOf('executor'),
      entry.line,
      'executor must be a string or a map with type and config',
    );
  }
  if (run !== undefined) {
    spec = { ...spec, type: fields.get('parallel') ? 'parallel' : 'dag' };
  }
  if (spec.type === 'subworkflow') spec = { ...spec, type: 'dag' };
  return spec;
}

function decodeParallel(fields: Fields): ParallelSpec | undefined {
  const entry = fields.get('parallel');
  if (!entry) return undefined;
  const path = fields.pathOf('parallel');
  const issues = fields.issues;
  let itemsNode: YamlNode | undefined = entry.value;
  let maxConcurrent = DEFAULT_MAX_CONCURRENT;
  if (entry.value.kind === 'map') {
    // Unknown keys inside the parallel object are ignored, as in Dagu.
    const items = entry.value.entries.find((e) => e.key === 'items');
    const limit = entry.value.entries.find((e) => e.key === 'maxConcurrent');
    itemsNode = items?.value;
    if (limit) {
      if (limit.value.kind === 'scalar' && typeof limit.value.value === 'number') {
        maxConcurrent = Math.trunc(limit.value.value);
        if (maxConcurrent <= 0)
          issues.add(`${path}.maxConcurrent`, limit.line, 'maxConcurrent must be greater than 0');
      } else {
        issues.add(`${path}.maxConcurrent`, limit.line, 'maxConcurrent must be an integer');
      }
    }
  }
  if (
    !itemsNode ||
    (itemsNode.kind === 'scalar' && (itemsNode.value === null || itemsNode.value === ''))
  ) {
    issues.add(path, entry.line, 'parallel needs items or a variable');
    return undefined;
  }
  if (itemsNode.kind === 'scalar') {
    return { items: undefined, variable: scalarToString(itemsNode.value), maxConcurrent };
  }
  if (itemsNode.kind !== 'seq') {
    issues.add(path, itemsNode.line, 'parallel items must be a list or a variable reference');
    return undefined;
  }
  if (itemsNode.items.length === 0)
    issues.add(path, itemsNode.line, 'parallel needs at least one item');
  if (itemsNode.items.length > MAX_PARALLEL_ITEMS) {
    issues.add(path, itemsNode.line, `parallel accepts at most ${MAX_PARALLEL_ITEMS} items`);
  }
  const items: ParallelItem[] = [];
  for (const item of itemsNode.items) {
    if (item.kind === 'scalar' && item.value !== null) {
      items.push(item.value);
    } else if (
      item.kind === 'map' &&
      item.entries.every((e) => e.value.kind === 'scalar' && e.value.value !== null)
    ) {
      items.push(
        Object.fromEntries(
          item.entries.map((e) => [e.key, (e.value as { value: string | number | boolean }).value]),
        ),
      );
    } else {
      issues.add(path, item.line, 'parallel items must be scalars or flat maps of scalars');
    }
  }
  return { items, variable: undefined, maxConcurrent };
}

/** `precondition(s)`: a string, a map, or a list of strings and maps (§2.4). */
export function decodeConditions(fields: Fields, key: string, issues: Issues): Condition[] {
  const entry = fields.get(key);
  if (!entry) return [];
  const items = entry.value.kind === 'seq' ? entry.value.items : [entry.value];
  const result: Condition[] = [];
  for (const item of items) {
    const condition = decodeCondition(item, fields.pathOf(key), issues);
    if (condition) result.push(condition);
  }
  return result;
}

function decodeCondition(node: YamlNode, path: string, issues: Issues): Condition | undefined {
  if (node.kind === 'scalar') {
    if (node.value === null) return undefined;
    return { condition: scalarToString(node.value), expected: '' };
  }
  if (node.kind !== 'map') {
    issues.add(path, node.line, `a condition must be a string or a map, got ${describeKind(node)}`);
    return undefined;
  }
  let condition: string | undefined;
  let expected = '';
  for (const entry of node.entries) {
    const key = entry.key.toLowerCase();
    const value = entry.value.kind === 'scalar' ? scalarToString(entry.value.value) : undefined;
    if (key !== 'condition' && key !== 'command' && key !== 'expected') {
      issues.add(`${path}.${entry.key}`, entry.line, `unknown key "${entry.key}"`);
    } else if (value === undefined) {
      issues.add(`${path}.${entry.key}`, entry.line, 'must be a string');
    } else if (key === 'expected') {
      expected = value;
    } else {
      condition = value;
    }
  }
  if (condition === undefined || condition === '') {
    issues.add(path, node.line, 'condition is required');
    return undefined;
  }
  return { condition, expected };
}

function decodeContinueOn(fields: Fields, issues: Issues): ContinueOn {
  const result: ContinueOn = {
    failure: false,
    skipped: false,
    exitCode: [],
    output: [],
    markSuccess: false,
  };
  const node = fields.get('continueOn')?.value;
  if (!node) return result;
  const continueOn = readFields(node, fields.pathOf('continueOn'), issues, [
    'failure',
    'skipped',
    'exitCode',
    'output',
    'markSuccess',
  ]);
  if (!continueOn) return result;
  result.failure = continueOn.bool('failure') ?? false;
  result.skipped = continueOn.bool('skipped') ?? false;
  result.markSuccess = continueOn.bool('markSuccess') ?? false;
  result.output = continueOn.stringList('output') ?? [];
  const exitCode = continueOn.get('exitCode');
  if (exitCode) {
    const codes = exitCode.value.kind === 'seq' ? exitCode.value.items : [exitCode.value];
    for (const code of codes) {
      const parsed = code.kind === 'scalar' ? Number(code.value) : NaN;
      if (code.kind === 'scalar' && code.value !== '' && Number.isInteger(parsed))
        result.exitCode.push(parsed);
      else issues.add(continueOn.pathOf('exitCode'), code.line, 'exit codes must be integers');
    }
  }
  return result;
}

function decodeRetryPolicy(fields: Fields, issues: Issues): RetryPolicy | undefined {
  const node = fields.get('retryPolicy')?.value;
  if (!node) return undefined;
  const retry = readFields(node, fields.pathOf('retryPolicy'), issues, [
    'limit',
    'intervalSec',
    'exitCode',
    'backoff',
    'maxIntervalSec',
  ]);
  if (!retry) return undefined;
  const limit = intOrString(retry, 'limit');
  if (limit === undefined) issues.add(retry.path, node.line, 'retryPolicy.limit is required');
  const backoffEntry = retry.get('backoff');
  let backoff: number | undefined;
  if (backoffEntry?.value.kind === 'scalar' && backoffEntry.value.value === true) backoff = 2;
  else if (backoffEntry?.value.kind === 'scalar' && backoffEntry.value.value === false)
    backoff = undefined;
  else backoff = retry.number('backoff');
  if (backoff !== undefined && backoff < 1) {
    issues.add(retry.pathOf('backoff'), backoffEntry!.line, 'backoff must be at least 1');
  }
  return {
    limit: limit ?? 0,
    intervalSec: intOrString(retry, 'intervalSec') ?? 0,
    exitCode: retry.intList('exitCode') ?? [],
    backoff,
    maxIntervalSec: retry.int('maxIntervalSec'),
  };
}

/** Retry limit/interval: an integer, or a string evaluated at run time. */
function intOrString(fields: Fields, key: string): number | string | undefined {
  const entry = fields.get(key);
  if (entry?.value.kind === 'scalar' && typeof entry.value.value === 'string')
    return entry.value.value;
  return fields.int(key);
}

function decodeRepeatPolicy(fields: Fields, issues: Issues): RepeatPolicy | undefined {
  const node = fields.get('repeatPolicy')?.value;
  if (!node) return undefined;
  const repeat = readFields(node, fields.pathOf('repeatPolicy'), issues, [
    'repeat',
    'intervalSec',
    'limit',
    'condition',
    'expected',
    'exitCode',
  ]);
  if (!repeat) return undefined;
  const condition = repeat.string('condition');
  return {
    repeat: repeat.bool('repeat') ?? false,
    intervalSec: repeat.int('intervalSec') ?? 0,
    limit: repeat.int('limit') ?? 0,
    condition: condition ? { condition, expected: repeat.string('expected') ?? '' } : undefined,
    exitCode: repeat.intList('exitCode') ?? [],
  };
}

/** `env`: a list of one-key maps (ordered) or a map; values stringified; other items ignored. */
export function decodeEnv(node: YamlNode): EnvEntry[] {
  const maps = node.kind === 'seq' ? node.items : [node];
  const entries: EnvEntry[] = [];
  for (const map of maps) {
    if (map.kind !== 'map') continue;
    for (const entry of map.entries) {
      const value =
        entry.value.kind === 'scalar'
          ? scalarToString(entry.value.value)
          : JSON.stringify(toPlain(entry.value));
      entries.push({ key: entry.key, value });
    }
  }
  return entries;
}

/** `params` of a DAG or a `run:` step: a string, a list of strings and maps, or a map (§3.5). */
export function decodeParamsDefinition(
  node: YamlNode,
  path: string,
  issues: Issues,
): ParamsDefinition | undefined {
  if (node.kind === 'scalar') {
    return node.value === null ? undefined : { form: 'string', text: scalarToString(node.value) };
  }
  const items: Array<string | { name: string; value: string }> = [];
  for (const item of node.kind === 'seq' ? node.items : [node]) {
    if (item.kind === 'scalar' && item.value !== null) {
      items.push(scalarToString(item.value));
    } else if (item.kind === 'map') {
      for (const entry of item.entries) {
        if (entry.value.kind === 'scalar')
          items.push({ name: entry.key, value: scalarToString(entry.value.value) });
        else
          issues.add(
            `${path}.${entry.key}`,
            entry.line,
            `param values must be scalars, got ${describeKind(entry.value)}`,
          );
      }
    } else {
      issues.add(
        path,
        item.line,
        `params items must be strings or maps, got ${describeKind(item)}`,
      );
    }
  }
  return { form: 'list', items };
}
