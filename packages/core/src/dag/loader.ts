// Turns DAG YAML into a validated `Dag` (dag-yaml.md §0–§2 and Part A). Every problem of a file
// is collected and thrown together as one DagValidationError; nothing is evaluated here (env,
// params and dotenv are evaluated per run, see run/environment.ts).
import { readFileSync, statSync } from 'node:fs';
import { basename, extname, resolve } from 'node:path';
import { DagValidationError } from '../errors.js';
import {
  formatParamsList,
  quoteParamsForChild,
  tokenizeParamString,
  type ParamEntry,
  type ParamsDefinition,
} from '../params/index.js';
import { describeKind, Fields, Issues, readFields, scalarList } from './decode.js';
import { findCycle } from './graph.js';
import { dagNameProblem } from './names.js';
import {
  DEFAULT_HIST_RETENTION_DAYS,
  DEFAULT_MAX_CLEANUP_TIME_SEC,
  DEFAULT_MAX_OUTPUT_SIZE,
  MAX_STEP_NAME_LENGTH,
  type Dag,
  type DagMetadata,
  type HandlerName,
  type MailConfig,
  type Schedules,
  type SmtpConfig,
  type Step,
} from './model.js';
import { parseScheduleExpression } from './schedule.js';
import {
  decodeConditions,
  decodeEnv,
  decodeParamsDefinition,
  decodeStep,
  type DecodedStep,
} from './steps.js';
import { parseYamlDocuments, toPlain, YamlSyntaxError, type YamlNode } from './yaml-tree.js';

/**
 * DAG files larger than this are refused before parsing. Parsing is linear but not cheap (about
 * 1 ms per KiB on a busy machine) and runs on the caller's thread, the API server's event loop
 * included: the limit bounds that pause (real DAGs are a few KiB; 256 KiB is ~5,000 lines).
 */
export const MAX_DAG_FILE_BYTES = 256 * 1024;

const DAG_KEYS = [
  'name',
  'group',
  'description',
  'type',
  'dotenv',
  'schedule',
  'skipIfSuccessful',
  'logDir',
  'env',
  'handlerOn',
  'steps',
  'smtp',
  'mailOn',
  'errorMail',
  'infoMail',
  'timeoutSec',
  'delaySec',
  'restartWaitSec',
  'histRetentionDays',
  'precondition',
  'preconditions',
  'maxActiveRuns',
  'maxActiveSteps',
  'params',
  'maxCleanUpTimeSec',
  'tags',
  'queue',
  'otel',
  'workerSelector',
  // Extensions accepted by dagu-ts (Part A #1).
  'maxOutputSize',
  'shell',
  'workingDir',
] as const;

const HANDLER_KEYS: Record<string, HandlerName> = {
  success: 'onSuccess',
  failure: 'onFailure',
  cancel: 'onCancel',
  exit: 'onExit',
};

const STEP_ID = /^[A-Za-z][A-Za-z0-9_-]*$/;
const RESERVED_IDS = new Set(['env', 'params', 'args', 'stdout', 'stderr', 'output', 'outputs']);

export interface ParseDagOptions {
  /** Path of the file the text came from: names the DAG by default and anchors relative dirs. */
  location?: string;
  /** Name to use when the YAML has no `name:` and there is no location. */
  name?: string;
}

/**
 * Texts at least this long keep their parse result (the last few of them): the API reads and
 * parses a DAG file on every details, spec or start request, and a large file would cost a
 * parse (about 1 ms per KiB) each time although it has not changed.
 */
const CACHE_MIN_CHARS = 32 * 1024;
const CACHE_ENTRIES = 4;
const largeParses = new Map<string, { text: string; dag?: Dag; error?: unknown }>();

/** Parses and validates DAG YAML (all documents: the first is the DAG, the rest local DAGs). */
export function parseDag(text: string, options: ParseDagOptions = {}): Dag {
  if (text.length < CACHE_MIN_CHARS) return parseDagUncached(text, options);
  const key = `${options.location ? resolve(options.location) : ''}\0${options.name ?? ''}`;
  let cached = largeParses.get(key);
  if (cached?.text !== text) {
    cached = { text };
    try {
      cached.dag = parseDagUncached(text, options);
    } catch (error) {
      cached.error = error;
    }
    largeParses.delete(key);
    if (largeParses.size >= CACHE_ENTRIES) largeParses.delete(largeParses.keys().next().value!);
    largeParses.set(key, cached);
  }
  if (cached.error !== undefined) throw cached.error;
  // A copy: callers own the Dag they get (a clone costs far less than a parse).
  return structuredClone(cached.dag!);
}

function parseDagUncached(text: string, options: ParseDagOptions): Dag {
  const location = options.location ? resolve(options.location) : undefined;
  return decodeDocuments(parseDocuments(text, location), text, location, options);
}

/** The whole DAG from its parsed YAML documents (the first is the DAG, the rest local DAGs). */
function decodeDocuments(
  documents: YamlNode[],
  text: string,
  location: string | undefined,
  options: ParseDagOptions,
): Dag {
  const issues = new Issues();
  const [main, ...rest] = documents;
  const fallbackName = options.name ?? (location ? fileStem(location) : undefined);
  if (!main) {
    return decodeDag({ kind: 'map', line: 1, entries: [] }, issues, location, fallbackName, '', []);
  }
  const localDags: Dag[] = [];
  rest.forEach((node, index) => {
    const prefix = `document ${index + 2}`;
    const nameEntry =
      node.kind === 'map' ? node.entries.find((e) => e.key.toLowerCase() === 'name') : undefined;
    if (!nameEntry || nameEntry.value.kind !== 'scalar' || !nameEntry.value.value) {
      issues.add(prefix, node.line, 'a local DAG (a document after ---) must have a name');
      return;
    }
    const local = decodeDag(node, issues, location, undefined, prefix, []);
    if (localDags.some((dag) => dag.name === local.name)) {
      issues.add(prefix, nameEntry.line, `duplicate local DAG name "${local.name}"`);
    }
    localDags.push(local);
  });
  const dag = decodeDag(main, issues, location, fallbackName, '', localDags);
  if (issues.list.length > 0) throw new DagValidationError(issues.list, location);
  dag.spec = text;
  return dag;
}

/** Reads and parses a DAG file. */
export async function loadDag(
  path: string,
  options: Omit<ParseDagOptions, 'location'> = {},
): Promise<Dag> {
  const text = await readDagFile(path);
  return parseDag(text, { ...options, location: path });
}

/** The listing view of a DAG file: name, description, tags, schedule, params; no step checks. */
export function parseDagMetadata(text: string, options: ParseDagOptions = {}): DagMetadata {
  const location = options.location ? resolve(options.location) : undefined;
  // The whole text is parsed: a file whose steps are not even YAML is not a DAG. The steps are
  // not decoded, though (callers cache the result by file modification time and size).
  return decodeMetadata(parseDocuments(text, location), location, options);
}

/** A DAG file parsed once into what listings and the scheduler need. */
export interface ParsedDagFile {
  /** The listing view (parseDagMetadata's). */
  metadata: DagMetadata;
  /** The whole DAG (parseDag's); undefined when it does not validate, see `error`. */
  dag: Dag | undefined;
  /** Why the whole DAG does not validate, while its listing keys do. */
  error: DagValidationError | undefined;
}

/**
 * The listing view and the whole DAG from one parse of the YAML (parsing is most of the cost).
 * Throws a DagValidationError when even the listing view fails, as parseDagMetadata does.
 */
export function parseDagFile(text: string, options: ParseDagOptions = {}): ParsedDagFile {
  const location = options.location ? resolve(options.location) : undefined;
  const documents = parseDocuments(text, location);
  const metadata = decodeMetadata(documents, location, options);
  try {
    return { metadata, dag: decodeDocuments(documents, text, location, options), error: undefined };
  } catch (error) {
    if (error instanceof DagValidationError) return { metadata, dag: undefined, error };
    throw error;
  }
}

function decodeMetadata(
  [main]: YamlNode[],
  location: string | undefined,
  options: ParseDagOptions,
): DagMetadata {
  const issues = new Issues();
  const entries = main?.kind === 'map' ? main.entries : [];
  if (main && main.kind !== 'map')
    issues.add('', main.line, `a DAG must be a map, got ${describeKind(main)}`);
  // Only the listed keys are read; the rest of the file is not decoded at all.
  const wanted = new Set([
    'name',
    'group',
    'description',
    'tags',
    'schedule',
    'params',
    'queue',
    'maxactiveruns',
  ]);
  const node: YamlNode = {
    kind: 'map',
    line: main?.line ?? 1,
    entries: entries.filter((e) => wanted.has(e.key.toLowerCase())),
  };
  const fields = new Fields(node as YamlNode & { kind: 'map' }, '', issues, DAG_KEYS);
  const paramsEntry = fields.get('params');
  const params = paramsEntry
    ? decodeParamsDefinition(paramsEntry.value, 'params', issues)
    : undefined;
  checkNameKey(fields, issues);
  const metadata: DagMetadata = {
    name: fields.string('name') ?? options.name ?? (location ? fileStem(location) : ''),
    group: fields.string('group'),
    description: fields.string('description'),
    tags: decodeTags(fields),
    schedule: decodeSchedule(fields, issues),
    ...describeDefaultParams(params),
    queue: fields.string('queue'),
    maxActiveRuns: normaliseMaxActiveRuns(fields.int('maxActiveRuns')),
  };
  if (issues.list.length > 0) throw new DagValidationError(issues.list, location);
  return metadata;
}

export async function loadDagMetadata(path: string): Promise<DagMetadata> {
  return parseDagMetadata(await readDagFile(path), { location: path });
}

/** Unevaluated default params, the way listings show them (`NAME=value`, positional as `1=…`). */
export function describeDefaultParams(params: ParamsDefinition | undefined): {
  params: string[];
  defaultParams: string;
} {
  if (!params) return { params: [], defaultParams: '' };
  const tokens =
    params.form === 'string'
      ? tokenizeParamString(params.text)
      : params.items.flatMap((item): Array<{ name: string | undefined; value: string }> =>
          typeof item === 'string' ? tokenizeParamString(item) : [item],
        );
  const entries: ParamEntry[] = tokens.map((token, index) => ({
    name: token.name ?? String(index + 1),
    value: token.value,
  }));
  return { params: formatParamsList(entries), defaultParams: quoteParamsForChild(params) };
}

/**
 * DAG files are small: reading them synchronously costs microseconds, while fs.promises pays a
 * thread-pool round trip per open/stat/read/close (several times slower over thousands of files).
 */
async function readDagFile(path: string): Promise<string> {
  const info = statSync(path);
  if (info.size > MAX_DAG_FILE_BYTES) {
    throw new DagValidationError(
      [
        {
          path: '',
          line: 0,
          message: `file is too large (${info.size} bytes; the limit is ${MAX_DAG_FILE_BYTES})`,
        },
      ],
      resolve(path),
    );
  }
  return readFileSync(path, 'utf8');
}

function parseDocuments(text: string, location: string | undefined): YamlNode[] {
  if (Buffer.byteLength(text) > MAX_DAG_FILE_BYTES) {
    throw new DagValidationError(
      [
        {
          path: '',
          line: 0,
          message: `DAG text is too large (${Buffer.byteLength(text)} bytes; the limit is ${MAX_DAG_FILE_BYTES})`,
        },
      ],
      location,
    );
  }
  try {
    return parseYamlDocuments(text);
  } catch (error) {
    if (error instanceof YamlSyntaxError) throw new DagValidationError(error.issues, location);
    throw error;
  }
}

function fileStem(path: string): string {
  const base = basename(path);
  const ext = extname(base);
  return ext === '.yaml' || ext === '.yml' ? base.slice(0, -ext.length) : base;
}

function decodeDag(
  node: YamlNode,
  issues: Issues,
  location: string | undefined,
  fallbackName: string | undefined,
  path: string,
  localDags: Dag[],
): Dag {
  const fields =
    readFields(node, path, issues, DAG_KEYS) ??
    new Fields({ kind: 'map', line: node.line, entries: [] }, path, issues, []);
  const name = fields.string('name') ?? fallbackName;
  if (!name) issues.add(path, node.line, 'the DAG needs a name');
  checkNameKey(fields, issues);

  const type = fields.string('type') ?? 'chain';
  if (type === 'agent') {
    issues.add(
      fields.pathOf('type'),
      fields.get('type')!.line,
      'type "agent" is not yet implemented',
    );
  } else if (type !== 'chain' && type !== 'graph') {
    issues.add(
      fields.pathOf('type'),
      fields.get('type')!.line,
      `invalid type "${type}" (chain or graph)`,
    );
  }

  const maxOutputSize = fields.int('maxOutputSize');
  if (maxOutputSize !== undefined && maxOutputSize <= 0) {
    issues.add(
      fields.pathOf('maxOutputSize'),
      fields.get('maxOutputSize')!.line,
      'must be greater than 0',
    );
  }
  for (const key of [
    'timeoutSec',
    'delaySec',
    'restartWaitSec',
    'maxActiveSteps',
    'maxCleanUpTimeSec',
  ] as const) {
    const value = fields.int(key);
    if (value !== undefined && value < 0)
      issues.add(fields.pathOf(key), fields.get(key)!.line, 'must not be negative');
  }

  const paramsEntry = fields.get('params');
  const envEntry = fields.get('env');
  const steps = decodeSteps(fields, issues, type === 'graph' ? 'graph' : 'chain');
  const histRetentionDays = fields.int('histRetentionDays');

  return {
    name: name ?? '',
    group: fields.string('group'),
    description: fields.string('description'),
    tags: decodeTags(fields),
    type: type === 'graph' ? 'graph' : 'chain',
    schedule: decodeSchedule(fields, issues),
    skipIfSuccessful: fields.bool('skipIfSuccessful') ?? false,
    restartWaitSec: fields.int('restartWaitSec') ?? 0,
    params: paramsEntry
      ? decodeParamsDefinition(paramsEntry.value, fields.pathOf('params'), issues)
      : undefined,
    env: envEntry ? decodeEnv(envEntry.value) : [],
    dotenv: fields.stringList('dotenv') ?? [],
    logDir: fields.string('logDir'),
    histRetentionDays: histRetentionDays || DEFAULT_HIST_RETENTION_DAYS,
    maxActiveRuns: normaliseMaxActiveRuns(fields.int('maxActiveRuns')),
    maxActiveSteps: fields.int('maxActiveSteps') ?? 0,
    timeoutSec: fields.int('timeoutSec') ?? 0,
    delaySec: fields.int('delaySec') ?? 0,
    maxCleanUpTimeSec: fields.int('maxCleanUpTimeSec') ?? DEFAULT_MAX_CLEANUP_TIME_SEC,
    preconditions: [
      ...decodeConditions(fields, 'precondition', issues),
      ...decodeConditions(fields, 'preconditions', issues),
    ],
    handlerOn: decodeHandlers(fields, issues),
    mailOn: decodeMailOn(fields, issues),
    smtp: decodeSmtp(fields, issues),
    errorMail: decodeMail(fields, 'errorMail', issues),
    infoMail: decodeMail(fields, 'infoMail', issues),
    queue: fields.string('queue'),
    workerSelector: decodeWorkerSelector(fields, issues),
    otel: fields.map('otel')
      ? (toPlain(fields.map('otel')!) as Record<string, unknown>)
      : undefined,
    steps,
    maxOutputSize: maxOutputSize && maxOutputSize > 0 ? maxOutputSize : DEFAULT_MAX_OUTPUT_SIZE,
    shell: fields.string('shell'),
    workingDir: fields.string('workingDir'),
    location,
    localDags,
  };
}

/** A `name:` must be usable as a file name and an API path segment (see names.ts). */
function checkNameKey(fields: Fields, issues: Issues): void {
  const entry = fields.get('name');
  // Only string names: other shapes are reported by fields.string.
  const name = entry?.value.kind === 'scalar' ? entry.value.value : undefined;
  const problem = typeof name === 'string' ? dagNameProblem(name) : undefined;
  if (entry && problem) {
    issues.add(
      fields.pathOf('name'),
      entry.line,
      `invalid DAG name ${JSON.stringify(name)}: ${problem} (a DAG name follows the rule for DAG file names)`,
    );
  }
}

function normaliseMaxActiveRuns(value: number | undefined): number {
  return value === undefined || value === 0 ? 1 : value;
}

/** `workerSelector: {key: value}`: scalar values as strings (Dagu's map of labels). */
function decodeWorkerSelector(fields: Fields, issues: Issues): Record<string, string> | undefined {
  const map = fields.map('workerSelector');
  if (!map) return undefined;
  const selector: Record<string, string> = {};
  for (const entry of map.entries) {
    const value = entry.value;
    if (value.kind !== 'scalar' || value.value === null) {
      issues.add(`workerSelector.${entry.key}`, entry.line, 'must be a string');
      continue;
    }
    selector[entry.key] = String(value.value);
  }
  return selector;
}

function decodeTags(fields: Fields): string[] {
  const entry = fields.get('tags');
  if (!entry) return [];
  const raw =
    entry.value.kind === 'scalar' && typeof entry.value.value === 'string'
      ? entry.value.value.split(',')
      : scalarList(entry.value, fields.pathOf('tags'), fields.issues);
  return raw.map((tag) => tag.trim().toLowerCase()).filter((tag) => tag !== '');
}

function decodeSchedule(fields: Fields, issues: Issues): Schedules {
  const schedules: Schedules = { start: [], stop: [], restart: [] };
  const entry = fields.get('schedule');
  if (!entry) return schedules;
  const path = fields.pathOf('schedule');
  const add = (kind: keyof Schedules, node: YamlNode, at: string): void => {
    for (const expression of scalarList(node, at, issues)) {
      const parsed = parseScheduleExpression(expression);
      if (typeof parsed === 'string') issues.add(at, node.line, parsed);
      else schedules[kind].push(parsed);
    }
  };
  if (entry.value.kind === 'map') {
    for (const item of entry.value.entries) {
      if (item.key === 'start' || item.key === 'stop' || item.key === 'restart')
        add(item.key, item.value, `${path}.${item.key}`);
      else
        issues.add(
          `${path}.${item.key}`,
          item.line,
          `unknown key "${item.key}" (start, stop or restart)`,
        );
    }
  } else {
    add('start', entry.value, path);
  }
  return schedules;
}

function decodeSteps(fields: Fields, issues: Issues, type: 'chain' | 'graph'): Step[] {
  const entry = fields.get('steps');
  if (!entry) return [];
  const path = fields.pathOf('steps');
  const decoded: DecodedStep[] = [];
  if (entry.value.kind === 'seq') {
    entry.value.items.forEach((item, index) => {
      const step = decodeStep(item, `${path}[${index}]`, issues);
      if (step) decoded.push(step);
    });
  } else if (entry.value.kind === 'map') {
    // Map form keeps the document order (Part A #4), so chain injection is deterministic.
    for (const item of entry.value.entries) {
      const step = decodeStep(item.value, `${path}.${item.key}`, issues, item.key);
      if (step) decoded.push(step);
    }
  } else {
    issues.add(path, entry.line, `steps must be a list or a map, got ${describeKind(entry.value)}`);
    return [];
  }
  validateStepIdentity(decoded, issues, path);
  if (type === 'chain') {
    decoded.forEach((current, index) => {
      const previous = decoded[index - 1];
      if (previous && !current.hasDependsKey) current.step.depends = [previous.step.name];
    });
  }
  const steps = decoded.map((d) => d.step);
  resolveDependencies(steps, issues, path);
  return steps;
}

function validateStepIdentity(decoded: readonly DecodedStep[], issues: Issues, path: string): void {
  const names = new Set<string>();
  const ids = new Set<string>();
  for (const { step } of decoded) {
    if (step.name.length > MAX_STEP_NAME_LENGTH) {
      issues.add(
        path,
        step.line,
        `step name "${step.name}" must be less than ${MAX_STEP_NAME_LENGTH} characters`,
      );
    }
    if (step.name && names.has(step.name))
      issues.add(path, step.line, `duplicate step name "${step.name}"`);
    names.add(step.name);
  }
  for (const { step } of decoded) {
    if (step.id === undefined) continue;
    if (!STEP_ID.test(step.id)) {
      issues.add(
        path,
        step.line,
        `step id "${step.id}" must start with a letter and contain only letters, digits, _ and -`,
      );
    } else if (RESERVED_IDS.has(step.id.toLowerCase())) {
      issues.add(path, step.line, `step id "${step.id}" is a reserved word`);
    } else if (ids.has(step.id)) {
      issues.add(path, step.line, `duplicate step id "${step.id}"`);
    } else if (names.has(step.id) && step.id !== step.name) {
      issues.add(path, step.line, `step id "${step.id}" is the name of another step`);
    }
    ids.add(step.id);
  }
}

/** Maps ids in `depends` to names; unknown targets and cycles are load errors (Part A #3). */
function resolveDependencies(steps: Step[], issues: Issues, path: string): void {
  const names = new Set(steps.map((s) => s.name));
  const idToName = new Map(steps.filter((s) => s.id).map((s) => [s.id!, s.name]));
  for (const step of steps) {
    step.depends = step.depends.map((target) => {
      if (names.has(target)) return target;
      const byId = idToName.get(target);
      if (byId) return byId;
      issues.add(
        path,
        step.line,
        `step "${step.name}" depends on "${target}", which is not a step of this DAG`,
      );
      return target;
    });
    step.depends = [...new Set(step.depends)];
  }
  const cycle = findCycle(steps);
  if (cycle) {
    const first = steps.find((s) => s.name === cycle[0]);
    issues.add(path, first?.line ?? 0, `dependency cycle detected: ${cycle.join(' -> ')}`);
  }
}

function decodeHandlers(fields: Fields, issues: Issues): Partial<Record<HandlerName, Step>> {
  const handlers: Partial<Record<HandlerName, Step>> = {};
  const node = fields.get('handlerOn')?.value;
  if (!node) return handlers;
  const handlerFields = readFields(
    node,
    fields.pathOf('handlerOn'),
    issues,
    Object.keys(HANDLER_KEYS),
  );
  if (!handlerFields) return handlers;
  for (const [key, name] of Object.entries(HANDLER_KEYS)) {
    const entry = handlerFields.get(key);
    if (!entry) continue;
    const decoded = decodeStep(entry.value, handlerFields.pathOf(key), issues, name);
    if (decoded) handlers[name] = { ...decoded.step, depends: [] };
  }
  return handlers;
}

function decodeMailOn(fields: Fields, issues: Issues): Dag['mailOn'] {
  const node = fields.get('mailOn')?.value;
  if (!node) return undefined;
  const mailOn = readFields(node, fields.pathOf('mailOn'), issues, ['failure', 'success']);
  return mailOn
    ? { failure: mailOn.bool('failure') ?? false, success: mailOn.bool('success') ?? false }
    : undefined;
}

function decodeSmtp(fields: Fields, issues: Issues): SmtpConfig | undefined {
  const node = fields.get('smtp')?.value;
  if (!node) return undefined;
  const smtp = readFields(node, fields.pathOf('smtp'), issues, [
    'host',
    'port',
    'username',
    'password',
  ]);
  if (!smtp) return undefined;
  const portEntry = smtp.get('port');
  const port = portEntry?.value.kind === 'scalar' ? String(portEntry.value.value ?? '') : '';
  const host = smtp.string('host') ?? '';
  if (!host && !port) return undefined;
  return {
    host,
    port,
    username: smtp.string('username') ?? '',
    password: smtp.string('password') ?? '',
  };
}

function decodeMail(fields: Fields, key: string, issues: Issues): MailConfig | undefined {
  const node = fields.get(key)?.value;
  if (!node) return undefined;
  const mail = readFields(node, fields.pathOf(key), issues, ['from', 'to', 'prefix', 'attachLogs']);
  if (!mail) return undefined;
  const from = mail.string('from') ?? '';
  const to = mail.string('to') ?? '';
  if (!from && !to) return undefined;
  return {
    from,
    to,
    prefix: mail.string('prefix') ?? '',
    attachLogs: mail.bool('attachLogs') ?? false,
  };
}
