// The OpenAPI 3.1 description of dagu-ts' REST API v2: the 29 operations of api-v2.md Part B §4
// (Dagu v1.17.4 wire format) with the decisions of Part A applied (arrays never null, 404/409
// instead of Dagu's 500s, `latest` everywhere, JSON error envelopes for every failure).
//
// Served at /api/v2/openapi.json and used by the tests to validate every response. Written by
// hand; plain data with no imports, so it costs nothing in the runtime graph.
//
// Conventions used throughout:
// - A field listed in `required` is always present, even when empty ("", 0, false, []).
// - An optional field is omitted when empty (Part A #1, Dagu's omit-when-empty rule), so the
//   schemas forbid the empty value of an optional field: minLength 1, minItems 1, `not` 0/false.
// - Every object the API returns lists all of its fields, hence `additionalProperties: false`.

// ---------------------------------------------------------------------------------------------
// A minimal OpenAPI 3.1 / JSON Schema 2020-12 model: just what this document uses.

export type JsonValue =
  string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

export interface JsonSchema {
  $ref?: string;
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  title?: string;
  description?: string;
  format?: 'int32' | 'int64' | 'date-time' | 'uuid' | 'float';
  enum?: readonly (string | number)[];
  const?: string | number | boolean;
  default?: JsonValue;
  properties?: Record<string, JsonSchema>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
  minProperties?: number;
  items?: JsonSchema;
  minItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  allOf?: readonly JsonSchema[];
  not?: JsonSchema;
  examples?: readonly JsonValue[];
  /** Names of the integer enum members (code generators turn them into constants). */
  'x-enum-varnames'?: readonly string[];
  /** What each enum member means: the label Dagu sends for it. */
  'x-enum-descriptions'?: readonly string[];
  /**
   * Why a value that fails `pattern` or `maxLength` is refused; the request validator answers
   * `invalid <name> "<value>": <this>` (api/src/validate.ts).
   */
  'x-error-message'?: string;
}

export interface Reference {
  $ref: string;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  description?: string;
  required?: boolean;
  schema: JsonSchema;
  /** How error messages of the request validator name the parameter (default: `name`). */
  'x-error-name'?: string;
}

export interface MediaType {
  schema: JsonSchema;
  example?: JsonValue;
}

export interface Header {
  description?: string;
  schema: JsonSchema;
}

export interface Response {
  description: string;
  headers?: Record<string, Header>;
  content?: Record<string, MediaType>;
}

export interface RequestBody {
  description?: string;
  required?: boolean;
  content: Record<string, MediaType>;
}

export type SecurityRequirement = Record<string, readonly string[]>;

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags?: readonly string[];
  parameters?: readonly (Parameter | Reference)[];
  requestBody?: RequestBody | Reference;
  responses: Record<string, Response | Reference>;
  security?: readonly SecurityRequirement[];
  /** Permission switch (§1.5) gating this operation; a viewer token may not call it. */
  'x-dagu-permission'?: 'write_dags' | 'run_dags';
}

export type HttpMethod = 'get' | 'put' | 'post' | 'delete' | 'patch';

export type PathItem = Partial<Record<HttpMethod, Operation>> & {
  parameters?: readonly (Parameter | Reference)[];
};

export interface SecurityScheme {
  type: 'http';
  scheme: 'basic' | 'bearer';
  bearerFormat?: string;
  description?: string;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description?: string; license?: { name: string } };
  servers: readonly { url: string; description?: string }[];
  tags?: readonly { name: string; description?: string }[];
  security: readonly SecurityRequirement[];
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters: Record<string, Parameter>;
    responses: Record<string, Response>;
    requestBodies: Record<string, RequestBody>;
    securitySchemes: Record<string, SecurityScheme>;
  };
}

// ---------------------------------------------------------------------------------------------
// The request rules shared by several parameters and fields (api-v2.md Part A #3, #4). The server
// enforces them by compiling this document (api/src/validate.ts); they are written nowhere else.

/** A file or DAG name that cannot leave its directory: no `/`, `\`, `..` or NUL. */
const safeName: JsonSchema = {
  type: 'string',
  pattern: '^(?!.*\\.\\.)[^/\\\\\\u0000]+$',
  'x-error-message': 'it contains "/", "\\", ".." or NUL',
};
const runIdRule = 'use letters, digits, ".", "_" and "-" (at most 64, no "..")';
/** A caller-chosen run id: a letter or digit, then letters, digits, `.`, `_`, `-`; no `..`. */
const runId: JsonSchema = {
  type: 'string',
  pattern: '^(?!.*\\.\\.)[A-Za-z0-9][A-Za-z0-9._-]*$',
  maxLength: 64,
  'x-error-message': runIdRule,
};
/** A run id in a request body, where "" means absent. */
const optionalRunId: JsonSchema = {
  type: 'string',
  pattern: '^(?!.*\\.\\.)(?:[A-Za-z0-9][A-Za-z0-9._-]*)?$',
  maxLength: 64,
  'x-error-message': runIdRule,
};
/** The range of a JavaScript Date in Unix seconds. */
const maxUnixSeconds = 8_640_000_000;

// ---------------------------------------------------------------------------------------------
// Small builders that keep the document below readable.

const schemaRef = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const paramRef = (name: string): Reference => ({ $ref: `#/components/parameters/${name}` });
const responseRef = (name: string): Reference => ({ $ref: `#/components/responses/${name}` });
const bodyRef = (name: string): Reference => ({ $ref: `#/components/requestBodies/${name}` });

const withDescription = (schema: JsonSchema, description?: string): JsonSchema =>
  description === undefined ? schema : { ...schema, description };

/** Always present; may be "". */
const str = (description?: string): JsonSchema => withDescription({ type: 'string' }, description);
/** Always present integer. */
const int = (description?: string): JsonSchema => withDescription({ type: 'integer' }, description);
/** Always present boolean. */
const bool = (description?: string): JsonSchema =>
  withDescription({ type: 'boolean' }, description);
/** Always present array; [] when empty, never null (Part A #2). */
const list = (items: JsonSchema, description?: string): JsonSchema =>
  withDescription({ type: 'array', items }, description);

// Optional fields: omitted when empty, so the empty value itself is not allowed.
const optStr = (description?: string): JsonSchema =>
  withDescription({ type: 'string', minLength: 1 }, description);
const optInt = (description?: string): JsonSchema =>
  withDescription({ type: 'integer', not: { const: 0 } }, description);
const optBool = (description?: string): JsonSchema =>
  withDescription({ type: 'boolean', not: { const: false } }, description);
const optList = (items: JsonSchema, description?: string): JsonSchema =>
  withDescription({ type: 'array', items, minItems: 1 }, description);

/** An object the API returns with every field listed: unknown fields are an error. */
function object(
  properties: Record<string, JsonSchema>,
  required: readonly string[],
  description?: string,
): JsonSchema {
  return withDescription(
    { type: 'object', properties, required, additionalProperties: false },
    description,
  );
}

const json = (schema: JsonSchema, example?: JsonValue): Record<string, MediaType> => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});

const ok = (description: string, schemaName: string, example?: JsonValue): Response => ({
  description,
  content: json(schemaRef(schemaName), example),
});

/** An error response whose `code` is one of `codes`. */
function errorResponse(description: string, codes: readonly string[], example: JsonValue) {
  const code: JsonSchema = codes.length === 1 ? { const: codes[0]! } : { enum: codes };
  const response: Response = {
    description,
    content: json(
      { allOf: [schemaRef('Error'), { type: 'object', properties: { code } }] },
      example,
    ),
  };
  return response;
}

type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 415 | 500;

const errorResponseNames: Record<ErrorStatus, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'AlreadyExists',
  413: 'PayloadTooLarge',
  415: 'UnsupportedMediaType',
  500: 'InternalError',
};

interface OperationSpec {
  operationId: string;
  summary: string;
  description?: string;
  tag: 'system' | 'dags' | 'dag-runs' | 'queues' | 'webhooks';
  parameters?: readonly string[];
  requestBody?: string;
  /** Success responses by status. */
  success: Record<string, Response | Reference>;
  /** Error statuses beyond the ones every operation has (400, 401, 500). */
  errors?: readonly ErrorStatus[];
  /** Replaces the standard response of an error status (e.g. 400 with not_running). */
  errorOverrides?: Partial<Record<ErrorStatus, Response | Reference>>;
  permission?: 'write_dags' | 'run_dags';
  public?: boolean;
}

/**
 * Builds one operation. Every operation takes `remoteNode` and can answer 400 (bad input,
 * unknown remote node) and 500; all but the public ones can answer 401 and 403 (a gated
 * operation for its permission; any of them for a foreign Host or a cross-site request). One
 * with a request body can answer 413 and 415.
 */
function operation(spec: OperationSpec): Operation {
  const statuses = new Set<ErrorStatus>([400, 500, ...(spec.errors ?? [])]);
  if (!spec.public) statuses.add(401);
  if (!spec.public || spec.permission) statuses.add(403);
  if (spec.requestBody) {
    statuses.add(413);
    statuses.add(415);
  }
  const responses: Record<string, Response | Reference> = { ...spec.success };
  for (const status of [...statuses].sort((a, b) => a - b)) {
    responses[String(status)] =
      spec.errorOverrides?.[status] ?? responseRef(errorResponseNames[status]);
  }
  const result: Operation = {
    operationId: spec.operationId,
    summary: spec.summary,
    tags: [spec.tag],
    parameters: [...(spec.parameters ?? []), 'RemoteNode'].map(paramRef),
    responses,
  };
  if (spec.description) result.description = spec.description;
  if (spec.requestBody) result.requestBody = bodyRef(spec.requestBody);
  if (spec.public) result.security = [];
  if (spec.permission) result['x-dagu-permission'] = spec.permission;
  return result;
}

const emptyOk = responseRef('EmptyOk');
const logOk = responseRef('LogOk');

// ---------------------------------------------------------------------------------------------
// Schemas (§2, §3 of Part B).

const runStatusLabels = [
  'not started',
  'running',
  'failed',
  'canceled',
  'finished',
  'queued',
  'partial success',
] as const;
const nodeStatusLabels = ['not started', 'running', 'failed', 'canceled', 'finished', 'skipped'];

/** Fields shared by DAG and DAGDetails (§3.7). */
const dagProperties: Record<string, JsonSchema> = {
  name: str('DAG name: the YAML `name:`, defaulting to the file base name.'),
  group: optStr(),
  description: optStr(),
  schedule: optList(schemaRef('Schedule'), 'Start schedules (cron expressions).'),
  params: optList(
    { type: 'string' },
    'Parsed default parameters as `NAME=value`; positional ones are named 1, 2, …',
  ),
  defaultParams: optStr('Default parameters joined back into one string, e.g. `P1="foo"`.'),
  tags: optList({ type: 'string' }),
};

/** Fields of DAGRunSummary (§3.11) apart from queuedAt. */
const runProperties: Record<string, JsonSchema> = {
  rootDAGRunName: str('Name of the root run; equals `name` for a top-level run.'),
  rootDAGRunId: str('Id of the root run; equals `dagRunId` for a top-level run.'),
  parentDAGRunName: optStr('Only on child runs.'),
  parentDAGRunId: optStr('Only on child runs.'),
  dagRunId: str('"" in the synthetic not-started status of a DAG that never ran.'),
  name: str('DAG name.'),
  status: schemaRef('Status'),
  statusLabel: schemaRef('StatusLabel'),
  startedAt: str('RFC 3339 (second precision, server time zone); "" when not started.'),
  finishedAt: str('RFC 3339; "" when not finished.'),
  log: str('Absolute server path of the run (scheduler) log; "" if none.'),
  params: optStr('Effective parameters joined by spaces, e.g. `P1=foo P2=bar`.'),
  workerId: optStr(
    "The worker that executes or executed the run (a child run: its root's), `local` for a run " +
      'the server executed; omitted while queued (Dagu v1.30).',
  ),
};
const runRequired = [
  'rootDAGRunName',
  'rootDAGRunId',
  'dagRunId',
  'name',
  'status',
  'statusLabel',
  'startedAt',
  'finishedAt',
  'log',
];
const queuedAt = optStr('RFC 3339 time the run entered the queue; only for queued runs.');

const schemas: Record<string, JsonSchema> = {
  Status: {
    type: 'integer',
    description:
      'DAG-run status. Labels: 0 not started, 1 running, 2 failed, 3 canceled, 4 finished, ' +
      '5 queued, 6 partial success.',
    enum: [0, 1, 2, 3, 4, 5, 6],
    'x-enum-varnames': [
      'NotStarted',
      'Running',
      'Failed',
      'Cancelled',
      'Success',
      'Queued',
      'PartialSuccess',
    ],
    'x-enum-descriptions': runStatusLabels,
  },
  StatusLabel: {
    type: 'string',
    description: 'Label of a Status (note the single "l" in canceled).',
    enum: runStatusLabels,
  },
  NodeStatus: {
    type: 'integer',
    description:
      'Step (node) status. Labels: 0 not started, 1 running, 2 failed, 3 canceled, ' +
      '4 finished, 5 skipped.',
    enum: [0, 1, 2, 3, 4, 5],
    'x-enum-varnames': ['NotStarted', 'Running', 'Failed', 'Cancelled', 'Success', 'Skipped'],
    'x-enum-descriptions': nodeStatusLabels,
  },
  NodeStatusLabel: {
    type: 'string',
    description: 'Label of a NodeStatus.',
    enum: nodeStatusLabels,
  },
  ErrorCode: {
    type: 'string',
    description: 'Machine-readable error code; dagu-ts never sends a code outside this list.',
    enum: [
      'forbidden',
      'bad_request',
      'not_found',
      'internal_error',
      'unauthorized',
      'bad_gateway',
      'remote_node_error',
      'already_running',
      'not_running',
      'already_exists',
    ],
  },
  Error: object(
    {
      code: schemaRef('ErrorCode'),
      message: str('Human-readable message (never a stack trace).'),
      details: {
        type: 'object',
        minProperties: 1,
        additionalProperties: true,
        description: 'Extra structured information; omitted when there is none.',
      },
    },
    ['code', 'message'],
    'The envelope of every error response.',
  ),
  Pagination: object(
    {
      totalRecords: int('Items after the name/tag filters.'),
      currentPage: int('Page actually served (at least 1).'),
      totalPages: int('floor((totalRecords - 1) / perPage) + 1, so 1 when there is nothing.'),
      nextPage: int('min(currentPage + 1, totalPages).'),
      prevPage: int('max(currentPage - 1, 1); never null.'),
    },
    ['totalRecords', 'currentPage', 'totalPages', 'nextPage', 'prevPage'],
  ),
  Schedule: object({ expression: str('Cron expression.') }, ['expression']),
  Condition: object(
    {
      condition: str('Expression or command evaluated.'),
      expected: optStr('Expected value or regular expression.'),
      error: optStr('Error of the last evaluation.'),
      matched: optBool(),
    },
    ['condition'],
    'A precondition.',
  ),
  RepeatPolicy: {
    ...object(
      {
        repeat: optBool(),
        interval: optInt('Seconds between repetitions.'),
      },
      [],
    ),
    minProperties: 1,
    description: 'Omitted from the Step when neither field is set.',
  },
  Step: object(
    {
      name: str('Unique within the DAG; handler steps are onSuccess, onFailure, onCancel, onExit.'),
      id: optStr('Short id used in `${id.stdout}` references.'),
      description: optStr(),
      dir: optStr('Working directory.'),
      cmdWithArgs: optStr('Full command line.'),
      command: optStr(),
      script: optStr(),
      args: optList({ type: 'string' }),
      output: optStr('Name of the output variable.'),
      stdout: optStr(),
      stderr: optStr(),
      run: optStr('Child DAG name when the step runs a DAG.'),
      params: optStr('Parameters for the child DAG.'),
      depends: optList({ type: 'string' }),
      repeatPolicy: schemaRef('RepeatPolicy'),
      mailOnError: optBool(),
      preconditions: optList(schemaRef('Condition')),
    },
    ['name'],
  ),
  HandlerOn: {
    ...object(
      {
        success: schemaRef('Step'),
        failure: schemaRef('Step'),
        cancel: schemaRef('Step'),
        exit: schemaRef('Step'),
      },
      [],
    ),
    minProperties: 1,
    description: 'Lifecycle handlers; omitted when the DAG defines none.',
  },
  DAG: object(dagProperties, ['name'], 'Summary of a DAG definition (metadata-only parse).'),
  DAGDetails: object(
    {
      ...dagProperties,
      env: optList({ type: 'string' }, '`KEY=VALUE` entries.'),
      logDir: optStr(),
      handlerOn: schemaRef('HandlerOn'),
      steps: optList(schemaRef('Step')),
      delay: optInt('Seconds.'),
      histRetentionDays: optInt(),
      preconditions: optList(schemaRef('Condition')),
      maxActiveDAGRuns: optInt('YAML `maxActiveRuns` (default 1); negative bypasses the queue.'),
      maxActiveSteps: optInt(),
    },
    ['name'],
    'Full DAG definition (parsed, env and params not evaluated).',
  ),
  LocalDag: object(
    {
      name: str(),
      dag: schemaRef('DAGDetails'),
      errors: list({ type: 'string' }),
    },
    ['name', 'errors'],
    'An extra YAML document (after `---`) of the same file, callable by name as a child DAG.',
  ),
  DAGFile: object(
    {
      fileName: str('File base name without `.yaml`/`.yml`.'),
      dag: schemaRef('DAG'),
      latestDAGRun: schemaRef('DAGRunSummary'),
      suspended: bool('Whether cron scheduling is suspended.'),
      errors: list({ type: 'string' }),
    },
    ['fileName', 'dag', 'latestDAGRun', 'suspended', 'errors'],
  ),
  DAGRunSummary: object({ ...runProperties, queuedAt }, runRequired),
  DAGRunDetails: object(
    {
      ...runProperties,
      queuedAt,
      nodes: list(schemaRef('Node')),
      onExit: schemaRef('Node'),
      onSuccess: schemaRef('Node'),
      onFailure: schemaRef('Node'),
      onCancel: schemaRef('Node'),
      preconditions: list(schemaRef('Condition'), 'DAG-level preconditions; [] when none.'),
    },
    [...runRequired, 'nodes', 'preconditions'],
    'A run with its steps. Handler nodes are present when the DAG defines the handler.',
  ),
  Node: object(
    {
      step: schemaRef('Step'),
      stdout: str('Absolute path of the stdout log; "" before the step ran.'),
      stderr: str('Absolute path of the stderr log.'),
      startedAt: str('RFC 3339, "" or "-" (never touched).'),
      finishedAt: str('RFC 3339, "" or "-" (never touched).'),
      status: schemaRef('NodeStatus'),
      statusLabel: schemaRef('NodeStatusLabel'),
      retryCount: int('Retries done (retryPolicy).'),
      doneCount: int('Completions (repeatPolicy).'),
      children: optList(schemaRef('ChildDAGRun'), 'Child runs started by this step.'),
      childrenRepeated: optList(schemaRef('ChildDAGRun'), 'Child runs of earlier repetitions.'),
      error: optStr('Why the step failed; always set on a failed step.'),
    },
    [
      'step',
      'stdout',
      'stderr',
      'startedAt',
      'finishedAt',
      'status',
      'statusLabel',
      'retryCount',
      'doneCount',
    ],
    'Execution state of one step.',
  ),
  ChildDAGRun: object({ dagRunId: str(), params: str('May be "".') }, ['dagRunId', 'params']),
  DAGGridItem: object(
    {
      name: str('Step name (steps sorted by name, then handlers).'),
      history: list(schemaRef('NodeStatus'), 'One status per returned run, index 0 = newest.'),
    },
    ['name', 'history'],
  ),
  SearchResultItem: object(
    {
      name: str('File base name without extension.'),
      dag: schemaRef('DAG'),
      matches: { type: 'array', items: schemaRef('SearchDAGsMatchItem'), minItems: 1 },
    },
    ['name', 'dag', 'matches'],
  ),
  SearchDAGsMatchItem: object(
    {
      line: str('Snippet of up to 5 lines (2 before, the match, 2 after) joined by \\n.'),
      lineNumber: { type: 'integer', minimum: 1, description: '1-based matching line.' },
      startLine: { type: 'integer', minimum: 1, description: '1-based first line of the snippet.' },
    },
    ['line', 'lineNumber', 'startLine'],
  ),
  Log: object(
    {
      content: str('Selected lines joined by \\n, without a trailing newline.'),
      lineCount: optInt('Lines returned.'),
      totalLines: optInt('Lines in the file (estimated for large files).'),
      hasMore: optBool('More lines exist outside the window.'),
      isEstimate: optBool('totalLines is an estimate.'),
    },
    ['content'],
  ),
  ListTagResponse: object({ tags: list({ type: 'string' }), errors: list({ type: 'string' }) }, [
    'tags',
    'errors',
  ]),
  HealthResponse: object(
    {
      status: { type: 'string', enum: ['healthy', 'unhealthy'] },
      version: str('Build version, e.g. 1.17.4; may be "" in development builds.'),
      uptime: { type: 'integer', minimum: 0, description: 'Seconds since the server started.' },
      timestamp: str('Server time, RFC 3339.'),
    },
    ['status', 'version', 'uptime', 'timestamp'],
  ),

  // Response and request bodies of the operations.
  ListDAGsResponse: object(
    {
      dags: list(schemaRef('DAGFile')),
      errors: list({ type: 'string' }, 'One entry per DAG file that failed to parse.'),
      pagination: schemaRef('Pagination'),
    },
    ['dags', 'errors', 'pagination'],
  ),
  CreateDAGRequest: {
    type: 'object',
    properties: {
      name: {
        ...safeName,
        minLength: 1,
        description: 'New file name, with or without `.yaml`; no `/`, `\\`, `..` or NUL.',
      },
      spec: {
        type: 'string',
        description:
          'Initial YAML (checked; 400 with its errors when invalid); the template when absent.',
      },
    },
    required: ['name'],
  },
  CreateDAGResponse: object({ name: str('The requested name, echoed.') }, ['name']),
  SearchDAGsResponse: object(
    { results: list(schemaRef('SearchResultItem')), errors: list({ type: 'string' }) },
    ['results', 'errors'],
  ),
  DAGDetailsResponse: object(
    {
      dag: schemaRef('DAGDetails'),
      localDags: list(schemaRef('LocalDag'), 'Sorted by name.'),
      latestDAGRun: schemaRef('DAGRunDetails'),
      suspended: bool(),
      errors: list({ type: 'string' }),
    },
    ['localDags', 'latestDAGRun', 'suspended', 'errors'],
  ),
  DAGSpecResponse: object(
    {
      spec: str('Raw YAML of the file.'),
      errors: list({ type: 'string' }, 'Parse and build errors; [] when the spec is valid.'),
      dag: schemaRef('DAGDetails'),
    },
    ['spec', 'errors'],
  ),
  UpdateDAGSpecRequest: {
    type: 'object',
    properties: { spec: { type: 'string', description: 'The new YAML.' } },
    required: ['spec'],
  },
  UpdateDAGSpecResponse: object(
    {
      errors: list(
        { type: 'string' },
        '[] when the spec was saved; otherwise why it was rejected (nothing written).',
      ),
    },
    ['errors'],
  ),
  StartDAGRequest: {
    type: 'object',
    properties: {
      params: {
        type: 'string',
        description:
          'Dagu parameter string (`KEY=value KEY2="a b"`, positional values) or a JSON ' +
          'object string (`{"env":"prod"}`) of named parameters. Merged into the DAG ' +
          'defaults; backticks are not executed.',
      },
      dagRunId: {
        ...optionalRunId,
        description: 'Run id to use (no `..`); a UUID v7 is generated when absent or "".',
      },
      singleton: {
        type: 'boolean',
        description: 'Refuse with 409 already_running when a run of this DAG is active.',
      },
    },
  },
  DAGRunIdResponse: object({ dagRunId: str('Id of the created run.') }, ['dagRunId']),
  DAGHistoryResponse: object(
    {
      dagRuns: list(schemaRef('DAGRunDetails'), 'Up to 30 most recent runs, newest first.'),
      gridData: list(schemaRef('DAGGridItem')),
    },
    ['dagRuns', 'gridData'],
  ),
  DAGRunResponse: object({ dagRun: schemaRef('DAGRunDetails') }, ['dagRun']),
  SuspendDAGRequest: {
    type: 'object',
    properties: { suspend: { type: 'boolean', description: 'true suspends, false resumes.' } },
    required: ['suspend'],
  },
  RenameDAGRequest: {
    type: 'object',
    properties: {
      newFileName: {
        ...safeName,
        minLength: 1,
        description: 'New file name, with or without `.yaml`; same rules as fileName.',
      },
    },
    required: ['newFileName'],
  },
  ListDAGRunsResponse: object(
    { dagRuns: list(schemaRef('DAGRunSummary'), 'At most 1000, newest first.') },
    ['dagRuns'],
  ),
  DAGRunDetailsResponse: object({ dagRunDetails: schemaRef('DAGRunDetails') }, ['dagRunDetails']),
  UpdateStepStatusRequest: {
    type: 'object',
    properties: { status: schemaRef('NodeStatus') },
    required: ['status'],
  },
  RetryDAGRunRequest: {
    type: 'object',
    properties: {
      dagRunId: {
        ...optionalRunId,
        description:
          'The run to retry (same run, new attempt); normally the path dagRunId. Informational: ' +
          'the path names the run.',
      },
      stepName: {
        type: 'string',
        description: 'Re-run only this step; downstream steps are not re-run.',
      },
    },
  },
};

// ---------------------------------------------------------------------------------------------
// Parameters (§4.1).

const logWindow = 'See the log-window rules: tail > head > offset > default.';

const parameters: Record<string, Parameter> = {
  RemoteNode: {
    name: 'remoteNode',
    in: 'query',
    description: 'Node to run the request on; only `local` (the default) is served here.',
    schema: { type: 'string', default: 'local' },
  },
  FileName: {
    name: 'fileName',
    in: 'path',
    required: true,
    description:
      'DAG file name, with or without `.yaml`/`.yml`. A name containing `/`, `\\`, `..` ' +
      'or NUL is rejected with 400.',
    schema: safeName,
  },
  DagName: {
    name: 'name',
    in: 'path',
    required: true,
    description: 'DAG name (the YAML `name:`), which keys the run history.',
    schema: safeName,
    'x-error-name': 'DAG name',
  },
  DagRunId: {
    name: 'dagRunId',
    in: 'path',
    required: true,
    description: 'Run id, or `latest` for the most recent run of the DAG.',
    schema: runId,
  },
  ChildDagRunId: {
    name: 'childDAGRunId',
    in: 'path',
    required: true,
    description: 'Id of a child run, from `Node.children[].dagRunId`.',
    schema: runId,
  },
  StepName: {
    name: 'stepName',
    in: 'path',
    required: true,
    description: 'Exact step name (URL-encoded).',
    schema: { type: 'string' },
  },
  Page: {
    name: 'page',
    in: 'query',
    description: 'Page number; values below 1 mean 1.',
    schema: { type: 'integer', default: 1 },
  },
  PerPage: {
    name: 'perPage',
    in: 'query',
    description: 'Items per page; 0 means 50, values above 200 mean 200.',
    schema: { type: 'integer', default: 50 },
  },
  DagFileNameFilter: {
    name: 'name',
    in: 'query',
    description: 'Case-insensitive substring of the file base name.',
    schema: { type: 'string' },
  },
  TagFilter: {
    name: 'tag',
    in: 'query',
    description: 'Case-insensitive exact tag.',
    schema: { type: 'string' },
  },
  SearchQuery: {
    name: 'q',
    in: 'query',
    required: true,
    description: 'Case-insensitive regular expression matched line by line.',
    schema: { type: 'string', minLength: 1 },
  },
  StatusFilter: {
    name: 'status',
    in: 'query',
    description: 'Only runs with this Status (one value); any other integer matches no run.',
    schema: { type: 'integer' },
  },
  FromDate: {
    name: 'fromDate',
    in: 'query',
    description:
      'Unix seconds; runs created at or after. Without fromDate and toDate only runs ' +
      'created since today 00:00 UTC are listed.',
    schema: { type: 'integer', format: 'int64', minimum: -maxUnixSeconds, maximum: maxUnixSeconds },
  },
  ToDate: {
    name: 'toDate',
    in: 'query',
    description: 'Unix seconds; runs created strictly before.',
    schema: { type: 'integer', format: 'int64', minimum: -maxUnixSeconds, maximum: maxUnixSeconds },
  },
  DagNameFilter: {
    name: 'name',
    in: 'query',
    description: 'Case-sensitive substring of the DAG name.',
    schema: { type: 'string' },
  },
  DagRunIdFilter: {
    name: 'dagRunId',
    in: 'query',
    description: 'Substring of the run id.',
    schema: { type: 'string' },
  },
  Tail: {
    name: 'tail',
    in: 'query',
    description: `Last n lines. ${logWindow}`,
    schema: { type: 'integer', minimum: 1 },
  },
  Head: {
    name: 'head',
    in: 'query',
    description: `First n lines. ${logWindow}`,
    schema: { type: 'integer', minimum: 1 },
  },
  Offset: {
    name: 'offset',
    in: 'query',
    description: `1-based first line (used with limit). ${logWindow}`,
    schema: { type: 'integer', minimum: 1 },
  },
  Limit: {
    name: 'limit',
    in: 'query',
    description: `Lines from offset (or from line 1). ${logWindow}`,
    schema: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
  },
  RunListLimit: {
    name: 'limit',
    in: 'query',
    description:
      'Runs per page, newest first. Default 100 on GET /dag-runs, 1000 (the maximum) on ' +
      'GET /dag-runs/{name}.',
    schema: { type: 'integer', minimum: 1, maximum: 1000 },
  },
  RunListOffset: {
    name: 'offset',
    in: 'query',
    description: 'Matching runs to skip before the page (0-based).',
    schema: { type: 'integer', minimum: 0, default: 0 },
  },
  Stream: {
    name: 'stream',
    in: 'query',
    description: 'Which output of the step.',
    schema: { type: 'string', enum: ['stdout', 'stderr'], default: 'stdout' },
  },
};

// ---------------------------------------------------------------------------------------------
// Shared responses and request bodies.

const responses: Record<string, Response> = {
  EmptyOk: { description: 'Done. Empty body, no content type.' },
  LogOk: ok('A window of the log.', 'Log', {
    content: 'line 1\nline 2',
    lineCount: 2,
    totalLines: 2,
  }),
  BadRequest: errorResponse(
    'Malformed JSON, wrong or missing fields, bad query values, invalid ids or file names.',
    ['bad_request'],
    { code: 'bad_request', message: 'invalid dagRunId' },
  ),
  Unauthorized: {
    ...errorResponse('Missing or invalid credentials.', ['unauthorized'], {
      code: 'unauthorized',
      message: 'unauthorized',
    }),
    headers: {
      'WWW-Authenticate': {
        description: 'Challenge for the configured scheme (Basic or Bearer).',
        schema: { type: 'string' },
      },
    },
  },
  Forbidden: errorResponse(
    'Permission switched off, or the token role may not do this; or, with auth off, a Host ' +
      'name that is not allowed; or a state-changing request from another site (Origin).',
    ['forbidden'],
    { code: 'forbidden', message: 'Permission denied' },
  ),
  NotFound: errorResponse('DAG, run, step, child run or log not found.', ['not_found'], {
    code: 'not_found',
    message: 'DAG example not found',
  }),
  AlreadyExists: errorResponse('The file or run id already exists.', ['already_exists'], {
    code: 'already_exists',
    message: 'DAG already exists',
  }),
  PayloadTooLarge: errorResponse('Request body over 1 MiB.', ['bad_request'], {
    code: 'bad_request',
    message: 'request body too large',
  }),
  UnsupportedMediaType: errorResponse(
    'A Content-Type other than application/json (with or without a body), or an unknown ' +
      'Content-Encoding.',
    ['bad_request'],
    {
      code: 'bad_request',
      message: 'unsupported content type',
    },
  ),
  InternalError: errorResponse('Unexpected failure (no stack trace).', ['internal_error'], {
    code: 'internal_error',
    message: 'An unexpected error occurred',
  }),
};

const jsonBody = (schemaName: string, required: boolean, example: JsonValue): RequestBody => ({
  required,
  content: json(schemaRef(schemaName), example),
});

const requestBodies: Record<string, RequestBody> = {
  CreateDAG: jsonBody('CreateDAGRequest', true, { name: 'my-new-dag' }),
  UpdateDAGSpec: jsonBody('UpdateDAGSpecRequest', true, {
    spec: 'steps:\n  - name: step1\n    command: echo hello\n',
  }),
  StartDAG: {
    ...jsonBody('StartDAGRequest', false, { params: 'env=production', dagRunId: 'custom-run-id' }),
    description: 'An absent body means `{}`.',
  },
  SuspendDAG: jsonBody('SuspendDAGRequest', true, { suspend: true }),
  RenameDAG: jsonBody('RenameDAGRequest', true, { newFileName: 'renamed-dag' }),
  UpdateStepStatus: jsonBody('UpdateStepStatusRequest', true, { status: 4 }),
  RetryDAGRun: jsonBody('RetryDAGRunRequest', false, { dagRunId: '20240101_120000' }),
};

// ---------------------------------------------------------------------------------------------
// Example bodies (also checked against their schemas by the tests).

const exampleRunSummary = {
  rootDAGRunName: 'example_dag',
  rootDAGRunId: '20240101_120000',
  dagRunId: '20240101_120000',
  name: 'example_dag',
  status: 1,
  statusLabel: 'running',
  startedAt: '2024-01-01T12:00:00Z',
  finishedAt: '',
  log: '/var/lib/dagu/logs/example_dag/20240101_120000.log',
};

// ---------------------------------------------------------------------------------------------
// Paths (§4, §5).

const runPath = '/dag-runs/{name}/{dagRunId}';
const childPath = `${runPath}/children/{childDAGRunId}`;
const runParams = ['DagName', 'DagRunId'];
const childParams = [...runParams, 'ChildDagRunId'];
const logParams = ['Tail', 'Head', 'Offset', 'Limit'];

const notRunning = errorResponse(
  'Bad input, or the run / DAG is not in a state that allows this.',
  ['bad_request', 'not_running'],
  { code: 'not_running', message: 'DAG is not running' },
);

const paths: Record<string, PathItem> = {
  '/health': {
    get: operation({
      operationId: 'health',
      summary: 'Health check',
      description: 'Public even when authentication is on.',
      tag: 'system',
      public: true,
      success: {
        200: ok('Server is up.', 'HealthResponse', {
          status: 'healthy',
          version: '1.0.0',
          uptime: 3600,
          timestamp: '2024-02-11T12:00:00Z',
        }),
      },
    }),
  },
  '/metrics': {
    get: operation({
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      description:
        'Prometheus text format. Requires authentication when it is on, unless ' +
        'DAGU_METRICS=public.',
      tag: 'system',
      success: {
        200: {
          description: 'Metrics in the Prometheus text exposition format.',
          content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } },
        },
      },
    }),
  },
  '/dags': {
    get: operation({
      operationId: 'listDags',
      summary: 'List DAG files',
      tag: 'dags',
      parameters: ['Page', 'PerPage', 'DagFileNameFilter', 'TagFilter'],
      success: {
        200: ok('One page of DAG files.', 'ListDAGsResponse', {
          dags: [
            {
              fileName: 'example',
              dag: {
                name: 'example_dag',
                schedule: [{ expression: '0 * * * *' }],
                description: 'Example DAG',
                tags: ['example', 'demo'],
              },
              latestDAGRun: exampleRunSummary,
              suspended: false,
              errors: [],
            },
          ],
          errors: [],
          pagination: {
            totalRecords: 45,
            currentPage: 1,
            totalPages: 5,
            nextPage: 2,
            prevPage: 1,
          },
        }),
      },
    }),
    post: operation({
      operationId: 'createDag',
      summary: 'Create a DAG file from the template',
      tag: 'dags',
      requestBody: 'CreateDAG',
      permission: 'write_dags',
      errors: [409],
      success: { 201: ok('Created.', 'CreateDAGResponse', { name: 'my-new-dag' }) },
    }),
  },
  '/dags/search': {
    get: operation({
      operationId: 'searchDags',
      summary: 'Search DAG files with a regular expression',
      tag: 'dags',
      parameters: ['SearchQuery'],
      success: { 200: ok('Matches and per-file errors.', 'SearchDAGsResponse') },
    }),
  },
  '/dags/tags': {
    get: operation({
      operationId: 'listTags',
      summary: 'List all tags',
      tag: 'dags',
      success: { 200: ok('Unique tags, sorted.', 'ListTagResponse') },
    }),
  },
  '/dags/{fileName}': {
    get: operation({
      operationId: 'getDag',
      summary: 'DAG details and latest run',
      tag: 'dags',
      parameters: ['FileName'],
      errors: [404],
      success: { 200: ok('The DAG.', 'DAGDetailsResponse') },
    }),
    delete: operation({
      operationId: 'deleteDag',
      summary: 'Delete a DAG file',
      description: 'Run history and the suspend flag are kept.',
      tag: 'dags',
      parameters: ['FileName'],
      permission: 'write_dags',
      errors: [404, 415],
      success: { 204: { description: 'Deleted. Empty body.' } },
    }),
  },
  '/dags/{fileName}/spec': {
    get: operation({
      operationId: 'getDagSpec',
      summary: 'Raw YAML and its errors',
      tag: 'dags',
      parameters: ['FileName'],
      errors: [404],
      success: { 200: ok('The spec.', 'DAGSpecResponse') },
    }),
    put: operation({
      operationId: 'updateDagSpec',
      summary: 'Replace the YAML',
      description: 'An invalid spec is answered 200 with its errors and nothing is written.',
      tag: 'dags',
      parameters: ['FileName'],
      requestBody: 'UpdateDAGSpec',
      permission: 'write_dags',
      errors: [404],
      success: { 200: ok('Saved, or rejected with errors.', 'UpdateDAGSpecResponse') },
    }),
  },
  '/dags/{fileName}/start': {
    post: operation({
      operationId: 'startDag',
      summary: 'Start a run',
      description:
        'Answers once the run record exists. When maxActiveRuns is reached the run is queued ' +
        '(status 5) and started later by this server.',
      tag: 'dags',
      parameters: ['FileName'],
      requestBody: 'StartDAG',
      permission: 'run_dags',
      errors: [404, 409],
      errorOverrides: { 409: responseRef('AlreadyExistsOrRunning') },
      success: { 200: ok('The run id.', 'DAGRunIdResponse', { dagRunId: 'custom-run-id' }) },
    }),
  },
  '/dags/{fileName}/enqueue': {
    post: operation({
      operationId: 'enqueueDag',
      summary: 'Enqueue a run',
      tag: 'dags',
      parameters: ['FileName'],
      requestBody: 'StartDAG',
      permission: 'run_dags',
      errors: [404, 409],
      errorOverrides: { 409: responseRef('AlreadyExistsOrRunning') },
      success: { 200: ok('The run id.', 'DAGRunIdResponse') },
    }),
  },
  '/dags/{fileName}/dag-runs': {
    get: operation({
      operationId: 'getDagHistory',
      summary: 'Recent runs of a DAG with grid data',
      tag: 'dags',
      parameters: ['FileName'],
      errors: [404],
      success: { 200: ok('Up to 30 runs, newest first.', 'DAGHistoryResponse') },
    }),
  },
  '/dags/{fileName}/dag-runs/{dagRunId}': {
    get: operation({
      operationId: 'getDagRunOfDag',
      summary: 'One run of a DAG (`latest` allowed)',
      description: '`latest` never fails: a DAG that never ran gets a not-started status.',
      tag: 'dags',
      parameters: ['FileName', 'DagRunId'],
      errors: [404],
      success: { 200: ok('The run.', 'DAGRunResponse') },
    }),
  },
  '/dags/{fileName}/suspend': {
    post: operation({
      operationId: 'suspendDag',
      summary: 'Suspend or resume cron scheduling',
      tag: 'dags',
      parameters: ['FileName'],
      requestBody: 'SuspendDAG',
      permission: 'run_dags',
      errors: [404],
      success: { 200: emptyOk },
    }),
  },
  '/dags/{fileName}/rename': {
    post: operation({
      operationId: 'renameDag',
      summary: 'Rename a DAG file and move its history',
      tag: 'dags',
      parameters: ['FileName'],
      requestBody: 'RenameDAG',
      permission: 'write_dags',
      errors: [404, 409],
      errorOverrides: { 400: notRunning },
      success: { 200: emptyOk },
    }),
  },
  '/dag-runs': {
    get: operation({
      operationId: 'listDagRuns',
      summary: 'List runs across DAGs',
      tag: 'dag-runs',
      parameters: [
        'StatusFilter',
        'FromDate',
        'ToDate',
        'DagNameFilter',
        'DagRunIdFilter',
        'RunListLimit',
        'RunListOffset',
      ],
      success: { 200: ok('Runs, newest first.', 'ListDAGRunsResponse') },
    }),
  },
  '/dag-runs/{name}': {
    get: operation({
      operationId: 'listDagRunsByName',
      summary: 'List runs of one DAG name',
      tag: 'dag-runs',
      parameters: [
        'DagName',
        'StatusFilter',
        'FromDate',
        'ToDate',
        'DagRunIdFilter',
        'RunListLimit',
        'RunListOffset',
      ],
      success: { 200: ok('Runs, newest first.', 'ListDAGRunsResponse') },
    }),
  },
  [runPath]: {
    get: operation({
      operationId: 'getDagRun',
      summary: 'Run details (`latest` allowed)',
      tag: 'dag-runs',
      parameters: runParams,
      errors: [404],
      success: { 200: ok('The run.', 'DAGRunDetailsResponse') },
    }),
  },
  [`${runPath}/log`]: {
    get: operation({
      operationId: 'getDagRunLog',
      summary: 'Run (scheduler) log',
      tag: 'dag-runs',
      parameters: [...runParams, ...logParams],
      errors: [404],
      success: { 200: logOk },
    }),
  },
  [`${runPath}/steps/{stepName}/log`]: {
    get: operation({
      operationId: 'getStepLog',
      summary: 'Step stdout or stderr',
      tag: 'dag-runs',
      parameters: [...runParams, 'StepName', ...logParams, 'Stream'],
      errors: [404],
      success: { 200: logOk },
    }),
  },
  [`${runPath}/steps/{stepName}/status`]: {
    patch: operation({
      operationId: 'updateStepStatus',
      summary: 'Force the status of a step',
      description: 'Only that node changes; refused (400) while the run is running.',
      tag: 'dag-runs',
      parameters: [...runParams, 'StepName'],
      requestBody: 'UpdateStepStatus',
      permission: 'run_dags',
      errors: [404],
      success: { 200: emptyOk },
    }),
  },
  [`${runPath}/retry`]: {
    post: operation({
      operationId: 'retryDagRun',
      summary: 'Retry a run, or one step of it',
      description: 'Same run id, new attempt. A run that is still running is refused (409).',
      tag: 'dag-runs',
      parameters: runParams,
      requestBody: 'RetryDAGRun',
      permission: 'run_dags',
      errors: [404, 409],
      errorOverrides: { 409: responseRef('AlreadyRunning') },
      success: { 200: emptyOk },
    }),
  },
  [`${runPath}/stop`]: {
    post: operation({
      operationId: 'stopDagRun',
      summary: 'Stop a running run',
      description: 'No request body. A run that is not running is answered 400 not_running.',
      tag: 'dag-runs',
      parameters: runParams,
      permission: 'run_dags',
      errors: [404, 413, 415],
      errorOverrides: { 400: notRunning },
      success: { 200: emptyOk },
    }),
  },
  [`${runPath}/dequeue`]: {
    get: operation({
      operationId: 'dequeueDagRun',
      summary: 'Cancel a queued run',
      description: 'A GET that changes state (Dagu-compatible); gated like a write.',
      tag: 'dag-runs',
      parameters: runParams,
      permission: 'run_dags',
      errors: [404],
      success: { 200: emptyOk },
    }),
  },
  [childPath]: {
    get: operation({
      operationId: 'getChildDagRun',
      summary: 'Child run details',
      tag: 'dag-runs',
      parameters: childParams,
      errors: [404],
      success: { 200: ok('The child run.', 'DAGRunDetailsResponse') },
    }),
  },
  [`${childPath}/log`]: {
    get: operation({
      operationId: 'getChildDagRunLog',
      summary: 'Child run log',
      tag: 'dag-runs',
      parameters: [...childParams, ...logParams],
      errors: [404],
      success: { 200: logOk },
    }),
  },
  [`${childPath}/steps/{stepName}/log`]: {
    get: operation({
      operationId: 'getChildStepLog',
      summary: 'Child step stdout or stderr',
      tag: 'dag-runs',
      parameters: [...childParams, 'StepName', ...logParams, 'Stream'],
      errors: [404],
      success: { 200: logOk },
    }),
  },
  [`${childPath}/steps/{stepName}/status`]: {
    patch: operation({
      operationId: 'updateChildStepStatus',
      summary: 'Force the status of a child step',
      tag: 'dag-runs',
      parameters: [...childParams, 'StepName'],
      requestBody: 'UpdateStepStatus',
      permission: 'run_dags',
      errors: [404],
      success: { 200: emptyOk },
    }),
  },
  '/openapi.json': {
    get: operation({
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      description: 'A dagu-ts addition (Part A #15), not one of the 29 Dagu operations.',
      tag: 'system',
      success: {
        200: {
          description: 'The OpenAPI 3.1 document.',
          content: json({
            type: 'object',
            properties: { openapi: { const: '3.1.0' }, paths: { type: 'object' } },
            required: ['openapi', 'paths'],
          }),
        },
      },
    }),
  },
};

// ---------------------------------------------------------------------------------------------
// Dagu v1.30.3's additions (issue 19): validate, inline runs, outputs, the spec of a run,
// reschedule, stop-all, queues, the scheduler's status, the v1.30 names of the child-run paths
// (`sub-dag-runs`) and per-DAG webhooks. Shapes follow Dagu's api/v2/api.yaml at v1.30.3 field for
// field; the conventions above (omit-when-empty, closed objects, error envelopes) apply.

/** The webhook token's bearer form, as Dagu sends it to callers. */
const webhookTokenRule = 'a `dagu_wh_` token from createDagWebhook';

const v130Schemas: Record<string, JsonSchema> = {
  ValidateDAGSpecRequest: {
    type: 'object',
    properties: {
      spec: { type: 'string', description: 'DAG specification in YAML format.' },
      name: {
        ...safeName,
        minLength: 1,
        description: 'Optional name to use when the spec omits a name.',
      },
    },
    required: ['spec'],
  },
  ValidateDAGSpecResponse: object(
    {
      valid: bool('True if the spec is valid (no errors).'),
      dag: schemaRef('DAGDetails'),
      errors: list(
        { type: 'string' },
        'Validation errors, each naming its line (`line 3: …`); [] when valid.',
      ),
    },
    ['valid', 'errors'],
    'Nothing is written. `dag` is present when the spec loads.',
  ),
  StopAllDAGRunsResponse: object(
    { errors: list({ type: 'string' }, 'Runs that could not be stopped; [] when all were.') },
    ['errors'],
  ),
  ExecuteDAGRunFromSpecRequest: {
    type: 'object',
    properties: {
      spec: { type: 'string', minLength: 1, description: 'DAG specification in YAML format.' },
      name: {
        ...safeName,
        minLength: 1,
        description:
          'Name to use when the spec omits a name (the run is stored under the DAG name).',
      },
      params: {
        type: 'string',
        description: 'Parameters of the run, as in StartDAGRequest (data, never executed).',
      },
      dagRunId: {
        ...optionalRunId,
        description: 'Optional ID for the DAG-run; if omitted, a new one is generated.',
      },
      singleton: {
        type: 'boolean',
        description:
          'Refuse with 409 already_running when a run of this DAG name is running (default ' +
          'false).',
      },
    },
    required: ['spec'],
  },
  EnqueueDAGRunFromSpecRequest: {
    type: 'object',
    properties: {
      spec: { type: 'string', minLength: 1, description: 'DAG specification in YAML format.' },
      name: {
        ...safeName,
        minLength: 1,
        description: 'Name to use when the spec omits a name.',
      },
      params: { type: 'string', description: 'Parameters to persist with the queued DAG-run.' },
      dagRunId: {
        ...optionalRunId,
        description: 'Optional ID for the DAG-run; if omitted a new one will be generated.',
      },
      queue: {
        type: 'string',
        description: 'Override the queue to use for this DAG-run.',
      },
    },
    required: ['spec'],
  },
  DAGRunSpecResponse: object({ spec: str('The DAG spec in YAML format that the run used.') }, [
    'spec',
  ]),
  RescheduleDAGRunRequest: {
    type: 'object',
    properties: {
      dagRunId: {
        ...optionalRunId,
        description: 'Explicit run ID for the new DAG-run; if omitted a new ID is generated.',
      },
      dagName: {
        ...safeName,
        minLength: 1,
        description: 'Optional DAG name override for the new run.',
      },
    },
  },
  RescheduleDAGRunResponse: object(
    {
      dagRunId: str('Id of the new run.'),
      queued: bool('Whether the run was queued instead of starting immediately.'),
    },
    ['dagRunId', 'queued'],
  ),
  OutputsMetadata: object(
    {
      dagName: str('DAG name.'),
      dagRunId: str('Run id.'),
      attemptId: str('Attempt identifier within the run.'),
      status: schemaRef('StatusLabel'),
      completedAt: {
        type: 'string',
        format: 'date-time',
        description: "RFC 3339 time the run finished (Go's zero time while it has not).",
      },
      params: optStr('JSON-serialized parameters of the run (`["P1=foo"]`).'),
    },
    ['dagName', 'dagRunId', 'attemptId', 'status', 'completedAt'],
    'Execution context metadata for the outputs.',
  ),
  DAGRunOutputs: object(
    {
      metadata: schemaRef('OutputsMetadata'),
      outputs: {
        type: 'object',
        additionalProperties: { type: 'string' },
        description:
          'Step outputs by name: `output: TOTAL_COUNT` is `totalCount` (UPPER_SNAKE to ' +
          'camelCase); the last step wins a conflict. Empty while the run has not finished.',
      },
    },
    ['metadata', 'outputs'],
  ),
  SubDAGRunDetail: object(
    {
      dagRunId: str('Id of the sub DAG-run.'),
      params: optStr('Parameters passed to the sub DAG-run.'),
      status: schemaRef('Status'),
      statusLabel: schemaRef('StatusLabel'),
      startedAt: str('RFC 3339; "" when not started.'),
      finishedAt: str('RFC 3339; "" when not finished.'),
    },
    ['dagRunId', 'status', 'statusLabel', 'startedAt'],
  ),
  SubDAGRunsResponse: object({ subRuns: list(schemaRef('SubDAGRunDetail')) }, ['subRuns']),
  Queue: object(
    {
      name: str('Queue name: a configured (global) queue, or the DAG name.'),
      type: {
        type: 'string',
        enum: ['global', 'dag-based'],
        description: '`global` when configured in queues.config, else `dag-based`.',
      },
      maxConcurrency: {
        type: 'integer',
        minimum: 1,
        description: "Runs allowed at once: the configured limit, or the DAG's maxActiveRuns.",
      },
      running: list(schemaRef('DAGRunSummary')),
      queued: list(schemaRef('DAGRunSummary')),
    },
    ['name', 'type', 'running', 'queued'],
  ),
  QueuesSummary: object(
    {
      totalQueues: { type: 'integer', minimum: 0 },
      totalRunning: { type: 'integer', minimum: 0 },
      totalQueued: { type: 'integer', minimum: 0 },
      totalCapacity: { type: 'integer', minimum: 0, description: 'Sum of maxConcurrency.' },
      utilizationPercentage: {
        type: 'number',
        format: 'float',
        minimum: 0,
        maximum: 100,
        description: 'totalRunning / totalCapacity * 100 (0 without capacity).',
      },
    },
    ['totalQueues', 'totalRunning', 'totalQueued', 'totalCapacity', 'utilizationPercentage'],
  ),
  QueuesResponse: object(
    { queues: list(schemaRef('Queue')), summary: schemaRef('QueuesSummary') },
    ['queues', 'summary'],
  ),
  SchedulerInstance: object(
    {
      instanceId: str('Identifier of the scheduler instance (host and process id).'),
      host: str('Host name where the scheduler runs.'),
      status: { type: 'string', enum: ['active', 'inactive', 'unknown'] },
      startedAt: str('RFC 3339 time the scheduler started.'),
    },
    ['instanceId', 'host', 'status', 'startedAt'],
  ),
  SchedulerStatusResponse: object(
    {
      schedulers: list(
        schemaRef('SchedulerInstance'),
        'The scheduler of this server process, when it runs one; [] otherwise.',
      ),
    },
    ['schedulers'],
  ),
  WebhookRequest: {
    type: 'object',
    properties: {
      dagRunId: {
        ...optionalRunId,
        description: 'Idempotency key: 409 when a run with this id already exists.',
      },
      payload: {
        type: 'object',
        additionalProperties: true,
        description: 'Arbitrary JSON passed to the run as the WEBHOOK_PAYLOAD parameter.',
      },
    },
  },
  WebhookResponse: object(
    { dagRunId: str('Id of the queued run.'), dagName: str('Name of the triggered DAG.') },
    ['dagRunId', 'dagName'],
  ),
  WebhookDetails: object(
    {
      id: { type: 'string', format: 'uuid', description: 'Identifier of the webhook.' },
      dagName: str('The DAG (file name) this webhook triggers.'),
      tokenPrefix: str('First 12 characters of the token, for identification.'),
      enabled: bool(),
      createdAt: { type: 'string', format: 'date-time' },
      updatedAt: { type: 'string', format: 'date-time' },
      createdBy: optStr("Who created the webhook (the caller's role here)."),
      lastUsedAt: { type: 'string', format: 'date-time', minLength: 1 },
    },
    ['id', 'dagName', 'tokenPrefix', 'enabled', 'createdAt', 'updatedAt'],
    'A webhook; the token itself is never shown again.',
  ),
  WebhookListResponse: object({ webhooks: list(schemaRef('WebhookDetails')) }, ['webhooks']),
  WebhookCreateResponse: object(
    {
      webhook: schemaRef('WebhookDetails'),
      token: str('The full token: shown only now; the server keeps only its hash.'),
    },
    ['webhook', 'token'],
  ),
  WebhookToggleRequest: {
    type: 'object',
    properties: { enabled: { type: 'boolean', description: 'Enable or disable the webhook.' } },
    required: ['enabled'],
  },
};

const v130Parameters: Record<string, Parameter> = {
  SubDagRunId: {
    name: 'subDAGRunId',
    in: 'path',
    required: true,
    description: 'Id of a sub (child) run, from `Node.children[].dagRunId`.',
    schema: runId,
  },
  ParentSubDagRunId: {
    name: 'parentSubDAGRunId',
    in: 'query',
    description: 'List the sub-runs of this sub-run instead of the root run (nested DAGs).',
    schema: { type: 'string' },
  },
  WebhookAuthorization: {
    name: 'Authorization',
    in: 'header',
    description: `\`Bearer <token>\`: ${webhookTokenRule}. Checked by the handler (401 without it).`,
    schema: { type: 'string' },
  },
};

const v130RequestBodies: Record<string, RequestBody> = {
  ValidateDAGSpec: jsonBody('ValidateDAGSpecRequest', true, {
    spec: 'steps:\n  - name: step1\n    command: echo hello\n',
  }),
  ExecuteDAGRunFromSpec: jsonBody('ExecuteDAGRunFromSpecRequest', true, {
    spec: 'name: inline\nsteps:\n  - name: step1\n    command: echo hello\n',
  }),
  EnqueueDAGRunFromSpec: jsonBody('EnqueueDAGRunFromSpecRequest', true, {
    spec: 'name: inline\nsteps:\n  - name: step1\n    command: echo hello\n',
  }),
  RescheduleDAGRun: {
    ...jsonBody('RescheduleDAGRunRequest', false, { dagRunId: 'rerun-1' }),
    description: 'An absent body means `{}`.',
  },
  Webhook: {
    ...jsonBody('WebhookRequest', false, { payload: { ref: 'main' } }),
    description: 'An absent body means `{}` (payload `{}`).',
  },
  WebhookToggle: jsonBody('WebhookToggleRequest', true, { enabled: false }),
};

const subPath = `${runPath}/sub-dag-runs/{subDAGRunId}`;
const subParams = [...runParams, 'SubDagRunId'];
const inlineRunConflict = errorResponse(
  'The run id already exists, or (singleton) a run of the DAG is running.',
  ['already_exists', 'already_running'],
  { code: 'already_exists', message: 'dag-run ID x already exists for DAG y' },
);

const v130Paths: Record<string, PathItem> = {
  '/dag-runs': {
    ...paths['/dag-runs'],
    post: operation({
      operationId: 'executeDagRunFromSpec',
      summary: 'Start a run of an inline spec',
      description:
        'The spec is checked like an upload (size, validation, names); the run and its spec ' +
        'are stored under the DAG name like any other run (queued when its queue is full).',
      tag: 'dag-runs',
      requestBody: 'ExecuteDAGRunFromSpec',
      permission: 'run_dags',
      errors: [409],
      errorOverrides: { 409: inlineRunConflict },
      success: { 200: ok('The run id.', 'DAGRunIdResponse', { dagRunId: 'custom-run-id' }) },
    }),
  },
  '/dags/validate': {
    post: operation({
      operationId: 'validateDagSpec',
      summary: 'Validate a DAG specification',
      description: 'Nothing is written. The errors name their lines; `dag` when the spec loads.',
      tag: 'dags',
      requestBody: 'ValidateDAGSpec',
      success: { 200: ok('Validation result.', 'ValidateDAGSpecResponse') },
    }),
  },
  '/dags/{fileName}/stop-all': {
    post: operation({
      operationId: 'stopAllDagRuns',
      summary: 'Stop every running run of a DAG',
      tag: 'dags',
      parameters: ['FileName'],
      permission: 'run_dags',
      errors: [404, 413, 415],
      success: { 200: ok('Stop requested for every running run.', 'StopAllDAGRunsResponse') },
    }),
  },
  '/dag-runs/enqueue': {
    post: operation({
      operationId: 'enqueueDagRunFromSpec',
      summary: 'Enqueue a run of an inline spec',
      description:
        'The spec is checked like an upload (size, validation, names); the run and its spec ' +
        'are stored under the DAG name like any other run.',
      tag: 'dag-runs',
      requestBody: 'EnqueueDAGRunFromSpec',
      permission: 'run_dags',
      errors: [409],
      errorOverrides: { 409: inlineRunConflict },
      success: { 200: ok('The run id.', 'DAGRunIdResponse') },
    }),
  },
  [`${runPath}/spec`]: {
    get: operation({
      operationId: 'getDagRunSpec',
      summary: 'The spec a run used',
      description: "The YAML the run was started from, not the file's current text.",
      tag: 'dag-runs',
      parameters: runParams,
      errors: [404],
      success: { 200: ok('The spec.', 'DAGRunSpecResponse') },
    }),
  },
  [`${runPath}/outputs`]: {
    get: operation({
      operationId: 'getDagRunOutputs',
      summary: 'Outputs collected from the steps of a run',
      tag: 'dag-runs',
      parameters: runParams,
      errors: [404],
      success: { 200: ok('The outputs and their metadata.', 'DAGRunOutputs') },
    }),
  },
  [`${runPath}/reschedule`]: {
    post: operation({
      operationId: 'rescheduleDagRun',
      summary: 'Run again under a new id, with the same spec and params',
      description: 'Refused (409) while a run of the DAG is running (singleton, as Dagu).',
      tag: 'dag-runs',
      parameters: runParams,
      requestBody: 'RescheduleDAGRun',
      permission: 'run_dags',
      errors: [404, 409],
      errorOverrides: { 409: inlineRunConflict },
      success: { 200: ok('The new run.', 'RescheduleDAGRunResponse') },
    }),
  },
  [`${runPath}/sub-dag-runs`]: {
    get: operation({
      operationId: 'getSubDagRuns',
      summary: 'Sub DAG-runs of a run, with timing and status',
      tag: 'dag-runs',
      parameters: [...runParams, 'ParentSubDagRunId'],
      errors: [404],
      success: { 200: ok('The sub-runs.', 'SubDAGRunsResponse') },
    }),
  },
  [subPath]: {
    get: operation({
      operationId: 'getSubDagRunDetails',
      summary: 'Sub DAG-run details (same as the children path)',
      tag: 'dag-runs',
      parameters: subParams,
      errors: [404],
      success: { 200: ok('The sub-run.', 'DAGRunDetailsResponse') },
    }),
  },
  [`${subPath}/log`]: {
    get: operation({
      operationId: 'getSubDagRunLog',
      summary: 'Sub DAG-run log',
      tag: 'dag-runs',
      parameters: [...subParams, ...logParams],
      errors: [404],
      success: { 200: logOk },
    }),
  },
  [`${subPath}/steps/{stepName}/log`]: {
    get: operation({
      operationId: 'getSubDagRunStepLog',
      summary: 'Sub DAG-run step stdout or stderr',
      tag: 'dag-runs',
      parameters: [...subParams, 'StepName', ...logParams, 'Stream'],
      errors: [404],
      success: { 200: logOk },
    }),
  },
  [`${subPath}/steps/{stepName}/status`]: {
    patch: operation({
      operationId: 'updateSubDagRunStepStatus',
      summary: 'Force the status of a sub DAG-run step',
      tag: 'dag-runs',
      parameters: [...subParams, 'StepName'],
      requestBody: 'UpdateStepStatus',
      permission: 'run_dags',
      errors: [404],
      success: { 200: emptyOk },
    }),
  },
  '/queues': {
    get: operation({
      operationId: 'listQueues',
      summary: 'Every queue with its running and queued runs',
      tag: 'queues',
      success: { 200: ok('The queues.', 'QueuesResponse') },
    }),
  },
  '/services/scheduler': {
    get: operation({
      operationId: 'getSchedulerStatus',
      summary: 'Scheduler status',
      tag: 'system',
      success: { 200: ok('The schedulers.', 'SchedulerStatusResponse') },
    }),
  },
  '/webhooks/{fileName}': {
    post: {
      ...operation({
        operationId: 'triggerWebhook',
        summary: 'Trigger a DAG with its webhook token',
        description:
          "Authenticated by the DAG's own webhook token only (`Authorization: Bearer " +
          'dagu_wh_…`), whether or not the rest of the API needs credentials: 401 without a ' +
          'valid token (also when the DAG has no webhook: nothing is told to a caller without ' +
          'the token), 403 when the webhook is disabled, 404 when its DAG file is gone. The run ' +
          'is queued with `WEBHOOK_PAYLOAD` (the JSON payload, as a quoted string) as a ' +
          'parameter, as data.',
        tag: 'webhooks',
        parameters: ['FileName', 'WebhookAuthorization'],
        requestBody: 'Webhook',
        public: true,
        errors: [401, 403, 404, 409],
        success: { 200: ok('The queued run.', 'WebhookResponse') },
      }),
    },
  },
  '/webhooks': {
    get: operation({
      operationId: 'listWebhooks',
      summary: 'Every webhook (admin)',
      tag: 'webhooks',
      success: { 200: ok('The webhooks.', 'WebhookListResponse') },
    }),
  },
  '/dags/{fileName}/webhook': {
    get: operation({
      operationId: 'getDagWebhook',
      summary: 'The webhook of a DAG (admin)',
      tag: 'webhooks',
      parameters: ['FileName'],
      errors: [404],
      success: { 200: ok('The webhook.', 'WebhookDetails') },
    }),
    post: operation({
      operationId: 'createDagWebhook',
      summary: 'Create the webhook of a DAG (admin); the token is shown once',
      tag: 'webhooks',
      parameters: ['FileName'],
      errors: [404, 409, 413, 415],
      success: { 201: ok('Created.', 'WebhookCreateResponse') },
    }),
    delete: operation({
      operationId: 'deleteDagWebhook',
      summary: 'Delete the webhook of a DAG (admin)',
      tag: 'webhooks',
      parameters: ['FileName'],
      errors: [404, 415],
      success: { 204: { description: 'Deleted. Empty body.' } },
    }),
  },
  '/dags/{fileName}/webhook/regenerate': {
    post: operation({
      operationId: 'regenerateDagWebhookToken',
      summary: 'New token for the webhook of a DAG (admin); the old one stops working',
      tag: 'webhooks',
      parameters: ['FileName'],
      errors: [404, 413, 415],
      success: { 200: ok('The new token, shown once.', 'WebhookCreateResponse') },
    }),
  },
  '/dags/{fileName}/webhook/toggle': {
    post: operation({
      operationId: 'toggleDagWebhook',
      summary: 'Enable or disable the webhook of a DAG (admin)',
      tag: 'webhooks',
      parameters: ['FileName'],
      requestBody: 'WebhookToggle',
      errors: [404],
      success: { 200: ok('The webhook.', 'WebhookDetails') },
    }),
  },
};

// Workers (a dagu-ts extension; GET /workers has Dagu v1.30's shape). A worker claims queued runs
// whose `workerSelector` its labels satisfy, reports every event with a per-run sequence number
// (a retried report is recorded once), streams step output by byte offset, and is told on each
// heartbeat which of its runs to stop. Worker endpoints need the role `worker` (or admin).

const labels: JsonSchema = {
  type: 'object',
  additionalProperties: { type: 'string', maxLength: 256 },
  description: 'Key-value labels.',
};
const runRef = object({ name: safeName, dagRunId: runId }, ['name', 'dagRunId']);
const workerLoad = {
  labels,
  maxActiveRuns: { type: 'integer', minimum: 1, maximum: 10_000 },
  busy: { type: 'integer', minimum: 0 },
} satisfies Record<string, JsonSchema>;

const workerSchemas: Record<string, JsonSchema> = {
  WorkerHealthStatus: {
    type: 'string',
    enum: ['healthy', 'warning', 'unhealthy'],
    description: 'From the age of the last heartbeat: healthy, then warning, then unhealthy.',
  },
  RunningTask: object(
    {
      dagRunId: str(),
      dagName: str(),
      startedAt: str('RFC 3339 start time; "" while claimed and not started.'),
      rootDagRunName: optStr(),
      rootDagRunId: optStr(),
      parentDagRunName: optStr(),
      parentDagRunId: optStr(),
    },
    ['dagRunId', 'dagName', 'startedAt'],
  ),
  Worker: object(
    {
      id: str('Worker id (`--worker.id`, default hostname@pid).'),
      labels,
      totalPollers: int('Runs the worker executes at once at most (`--worker.max-active-runs`).'),
      busyPollers: int('Runs it executes now.'),
      runningTasks: list(schemaRef('RunningTask')),
      lastHeartbeatAt: str('RFC 3339 time of its last heartbeat.'),
      healthStatus: schemaRef('WorkerHealthStatus'),
    },
    [
      'id',
      'labels',
      'totalPollers',
      'busyPollers',
      'runningTasks',
      'lastHeartbeatAt',
      'healthStatus',
    ],
  ),
  WorkersListResponse: object(
    { workers: list(schemaRef('Worker')), errors: list({ type: 'string' }) },
    ['workers', 'errors'],
  ),
  WorkerClaimRequest: object(
    { ...workerLoad, waitMs: { type: 'integer', minimum: 0, maximum: 60_000 } },
    ['labels', 'maxActiveRuns', 'busy'],
  ),
  WorkerClaimResponse: object(
    {
      run: object(
        {
          name: str(),
          dagRunId: str(),
          dag: {
            type: 'object',
            description: 'The DAG definition the run uses (no DAG file needed).',
          },
          paramsList: list({ type: 'string' }, "The run's params as `NAME=value`."),
          untrustedParams: optList({ type: 'string' }),
          queuedAt: str(),
          childDags: {
            type: 'object',
            additionalProperties: { type: 'object' },
            description:
              'The DAG files the run calls by name (`run: other-dag`), by that name, with their definitions; names decided at run time are not included.',
          },
        },
        ['name', 'dagRunId', 'dag', 'paramsList', 'queuedAt'],
      ),
    },
    [],
    'Empty when no run was there to claim before `waitMs` passed.',
  ),
  WorkerHeartbeatRequest: object({ ...workerLoad, runs: list(runRef) }, [
    'labels',
    'maxActiveRuns',
    'busy',
    'runs',
  ]),
  WorkerHeartbeatResponse: object(
    {
      stop: list(runRef, 'Runs to stop (a stop was requested through the API).'),
      lost: list(runRef, 'Runs this worker no longer holds (lease expired): stop them.'),
    },
    ['stop', 'lost'],
  ),
  WorkerEventReport: object(
    {
      seq: { type: 'integer', minimum: 1, description: 'Per-run sequence number, from 1.' },
      event: {
        type: 'object',
        properties: {
          type: {
            enum: ['run-started', 'step-started', 'step-updated', 'step-finished', 'run-finished'],
          },
          run: { type: 'object' },
          dag: { type: 'object' },
        },
        required: ['type', 'run'],
        description: 'A run event of the root run or one of its child runs.',
      },
    },
    ['seq', 'event'],
  ),
  WorkerEventResponse: object({ recorded: bool('false: a retry of a report already recorded.') }, [
    'recorded',
  ]),
  WorkerLogWrite: object(
    {
      target: object(
        {
          dagName: safeName,
          dagRunId: runId,
          attemptId: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
          startedAt: str(),
          logDir: optStr(),
        },
        ['dagName', 'dagRunId', 'attemptId', 'startedAt'],
      ),
      step: object({ name: { type: 'string', minLength: 1, maxLength: 256 }, at: str() }, [
        'name',
        'at',
      ]),
      stream: { enum: ['stdout', 'stderr', 'run'] },
      offset: { type: 'integer', minimum: 0 },
      data: { type: 'string', maxLength: 700_000, description: 'Base64 bytes.' },
    },
    ['target'],
  ),
  WorkerLogResponse: object(
    {
      ref: optStr('Reference of the run log.'),
      stdout: optStr(),
      stderr: optStr(),
      size: optInt('Bytes of the stream the server has: the next write starts there.'),
    },
    [],
  ),
};

const workerParameters: Record<string, Parameter> = {
  WorkerId: {
    name: 'workerId',
    in: 'path',
    required: true,
    description: "The worker's id.",
    schema: { type: 'string', pattern: '^[^/\\u0000]{1,256}$' },
  },
};

const workerRequestBodies: Record<string, RequestBody> = {
  WorkerClaim: jsonBody('WorkerClaimRequest', true, {
    labels: { gpu: 'true' },
    maxActiveRuns: 4,
    busy: 0,
  }),
  WorkerHeartbeat: jsonBody('WorkerHeartbeatRequest', true, {
    labels: {},
    maxActiveRuns: 4,
    busy: 0,
    runs: [],
  }),
  WorkerEvent: jsonBody('WorkerEventReport', true, {
    seq: 1,
    event: { type: 'run-finished', run: {} },
  }),
  WorkerLog: jsonBody('WorkerLogWrite', true, {
    target: { dagName: 'd', dagRunId: 'r', attemptId: 'a', startedAt: '2024-01-01T00:00:00Z' },
  }),
};

const workerPath = '/workers/{workerId}';
const leaseLost = errorResponse(
  'The worker does not hold this run (any more, its lease lapsed): it must stop it.',
  ['not_running'],
  { code: 'not_running', message: 'worker w1 does not hold dag-run r of DAG d' },
);
const workerPaths: Record<string, PathItem> = {
  '/workers': {
    get: operation({
      operationId: 'getWorkers',
      summary: 'List workers',
      description: 'Workers seen by this server, with the runs they hold (Dagu v1.30 shape).',
      tag: 'system',
      success: { 200: ok('The workers.', 'WorkersListResponse') },
    }),
  },
  [`${workerPath}/claim`]: {
    post: operation({
      operationId: 'claimWorkerRun',
      summary: 'Long-poll for the next run this worker may execute',
      tag: 'system',
      parameters: ['WorkerId'],
      requestBody: 'WorkerClaim',
      success: { 200: ok('A run, or none.', 'WorkerClaimResponse') },
    }),
  },
  [`${workerPath}/heartbeat`]: {
    post: operation({
      operationId: 'workerHeartbeat',
      summary: 'Worker heartbeat; answers the runs to stop',
      tag: 'system',
      parameters: ['WorkerId'],
      requestBody: 'WorkerHeartbeat',
      success: { 200: ok('What to stop.', 'WorkerHeartbeatResponse') },
    }),
  },
  [`${workerPath}/runs/{name}/{dagRunId}/events`]: {
    post: operation({
      operationId: 'reportWorkerEvent',
      summary: 'Record a run event (idempotent by sequence number)',
      tag: 'system',
      parameters: ['WorkerId', 'DagName', 'DagRunId'],
      requestBody: 'WorkerEvent',
      errors: [409],
      errorOverrides: { 409: leaseLost },
      success: { 200: ok('Recorded, or already recorded.', 'WorkerEventResponse') },
    }),
  },
  [`${workerPath}/runs/{name}/{dagRunId}/logs`]: {
    post: operation({
      operationId: 'writeWorkerLog',
      summary: 'Open or append to a log of the run (by byte offset)',
      tag: 'system',
      parameters: ['WorkerId', 'DagName', 'DagRunId'],
      requestBody: 'WorkerLog',
      errors: [409],
      errorOverrides: { 409: leaseLost },
      success: { 200: ok('References and sizes.', 'WorkerLogResponse') },
    }),
  },
};

export const openApiDocument: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'dagu-ts REST API',
    version: '2.0.0',
    license: { name: 'MIT' },
    description:
      'Dagu-compatible REST API v2 (wire format of Dagu v1.17.4). Errors always use the Error ' +
      'envelope. An unknown route is 404 not_found; a wrong method on a known path is 404 ' +
      'not_found or 405 bad_request. Optional fields are omitted when empty; arrays are never ' +
      'null.',
  },
  servers: [{ url: '/api/v2', description: 'Prefixed by the configured base path, if any.' }],
  tags: [
    { name: 'system', description: 'Health and metrics.' },
    { name: 'dags', description: 'DAG definitions and starting runs.' },
    { name: 'dag-runs', description: 'Runs, logs and steps.' },
    { name: 'queues', description: 'Queues and their runs (Dagu v1.30).' },
    { name: 'webhooks', description: 'Per-DAG webhook tokens and triggers (Dagu v1.30).' },
  ],
  security: [{ basicAuth: [] }, { bearerAuth: [] }, {}],
  paths: { ...paths, ...v130Paths, ...workerPaths },
  components: {
    schemas: { ...schemas, ...v130Schemas, ...workerSchemas },
    parameters: { ...parameters, ...v130Parameters, ...workerParameters },
    responses: {
      ...responses,
      AlreadyRunning: errorResponse('The run is still running.', ['already_running'], {
        code: 'already_running',
        message: 'dag-run is still running',
      }),
      AlreadyExistsOrRunning: errorResponse(
        'The run id already exists, or (singleton) a run of the DAG is active.',
        ['already_exists', 'already_running'],
        { code: 'already_exists', message: 'dag-run ID x already exists for DAG y' },
      ),
    },
    requestBodies: { ...requestBodies, ...v130RequestBodies, ...workerRequestBodies },
    securitySchemes: {
      basicAuth: {
        type: 'http',
        scheme: 'basic',
        description: 'DAGU_AUTH_BASIC_USERNAME / DAGU_AUTH_BASIC_PASSWORD.',
      },
      bearerAuth: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'token or JWT',
        description:
          'The static token (DAGU_AUTH_TOKEN, full rights) or an HS256 JWT signed with ' +
          'DAGU_AUTH_JWT_SECRET whose `role` claim is admin, operator, viewer or worker (the ' +
          'worker endpoints only).',
      },
    },
  },
};
