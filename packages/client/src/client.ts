// The typed client: one method per operation of the OpenAPI document (named after its
// operationId), plus the helpers every caller would otherwise write by hand: waiting for a run,
// starting and waiting, and iterating over paginated listings.
import { DaguTimeoutError } from './errors.js';
import {
  apiRootOf,
  authorizationOf,
  path,
  send,
  type DaguAuth,
  type Exchange,
  type FetchFunction,
  type RequestOptions,
  type TransportOptions,
} from './transport.js';
import {
  isTerminalStatus,
  type BodyOf,
  type DAGFile,
  type DAGRunDetails,
  type DAGRunSummary,
  type ListDAGRunsResponse,
  type OperationId,
  type QueryOf,
  type ResultOf,
} from './types.js';

export interface DaguClientOptions {
  /**
   * The server root, e.g. `http://localhost:8080` (the client adds `/api/v2`); a URL that
   * already ends in `/api/v2` is used as is. Include the base path of a server behind one.
   */
  baseUrl: string;
  /** Credentials; none when the server runs without auth. */
  auth?: DaguAuth;
  /** Limit of each request in milliseconds (default 30 000; 0 disables it). */
  timeoutMs?: number;
  /** Headers sent with every request (they override the client's own, Authorization included). */
  headers?: Record<string, string>;
  /** The fetch to use (default: the global one). */
  fetch?: FetchFunction;
}

export interface WaitOptions {
  /** Give up after this many milliseconds with a DaguTimeoutError (default: no limit). */
  timeoutMs?: number;
  /** Time between two polls in milliseconds (default 1000). */
  intervalMs?: number;
  /** Stops waiting; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called with the run after every poll (e.g. to print progress). */
  onUpdate?: (run: DAGRunDetails) => void;
}

/** Query of `iterateDags`: the filters of `listDags`; `page` is where to start. */
export type IterateDagsQuery = QueryOf<'listDags'>;

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_INTERVAL_MS = 1_000;
/** Most runs a run listing returns (the server's cap, see ListDAGRunsResponse). */
export const RUN_LIST_LIMIT = 1000;

export class DaguClient {
  /** The API root every path is appended to, e.g. `http://localhost:8080/api/v2`. */
  readonly apiRoot: string;
  readonly #transport: TransportOptions;

  constructor(options: DaguClientOptions) {
    this.apiRoot = apiRootOf(options.baseUrl);
    const authorization = authorizationOf(options.auth);
    const fetchFunction = options.fetch ?? globalThis.fetch;
    if (typeof fetchFunction !== 'function')
      throw new TypeError('no global fetch: pass options.fetch');
    this.#transport = {
      apiRoot: this.apiRoot,
      // Called unbound: browsers refuse a fetch whose `this` is not the window.
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      headers: {
        ...(authorization ? { Authorization: authorization } : {}),
        ...options.headers,
      },
    };
  }

  #call<Op extends OperationId>(
    _operation: Op,
    exchange: Exchange,
    options: RequestOptions | undefined,
  ): Promise<ResultOf<Op>> {
    return send(this.#transport, exchange, options) as Promise<ResultOf<Op>>;
  }

  // --- system -------------------------------------------------------------------------------

  /** GET /health: server status, version, uptime. Needs no credentials. */
  async health(options?: RequestOptions): Promise<ResultOf<'health'>> {
    return this.#call('health', { method: 'GET', path: '/health', expect: 'json' }, options);
  }

  /** GET /metrics: Prometheus metrics in the text exposition format. */
  async metrics(options?: RequestOptions): Promise<ResultOf<'metrics'>> {
    return this.#call('metrics', { method: 'GET', path: '/metrics', expect: 'text' }, options);
  }

  /** GET /openapi.json: the OpenAPI document the server implements. */
  async getOpenApiDocument(options?: RequestOptions): Promise<ResultOf<'getOpenApiDocument'>> {
    return this.#call(
      'getOpenApiDocument',
      { method: 'GET', path: '/openapi.json', expect: 'json' },
      options,
    );
  }

  // --- DAGs ---------------------------------------------------------------------------------

  /** GET /dags: one page of DAG files (see `iterateDags` for all of them). */
  async listDags(
    query?: QueryOf<'listDags'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'listDags'>> {
    return this.#call('listDags', { method: 'GET', path: '/dags', query, expect: 'json' }, options);
  }

  /** POST /dags: creates a DAG file from the server's template. */
  async createDag(
    body: BodyOf<'createDag'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'createDag'>> {
    return this.#call(
      'createDag',
      { method: 'POST', path: '/dags', body, expect: 'json' },
      options,
    );
  }

  /** GET /dags/search: lines of DAG files matching a regular expression (`q`). */
  async searchDags(
    query: QueryOf<'searchDags'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'searchDags'>> {
    return this.#call(
      'searchDags',
      { method: 'GET', path: '/dags/search', query, expect: 'json' },
      options,
    );
  }

  /** GET /dags/tags: every tag, sorted. */
  async listTags(options?: RequestOptions): Promise<ResultOf<'listTags'>> {
    return this.#call('listTags', { method: 'GET', path: '/dags/tags', expect: 'json' }, options);
  }

  /** GET /dags/{fileName}: the DAG's definition and latest run. */
  async getDag(fileName: string, options?: RequestOptions): Promise<ResultOf<'getDag'>> {
    return this.#call(
      'getDag',
      { method: 'GET', path: path`/dags/${fileName}`, expect: 'json' },
      options,
    );
  }

  /** DELETE /dags/{fileName}: deletes the file (run history is kept). */
  async deleteDag(fileName: string, options?: RequestOptions): Promise<ResultOf<'deleteDag'>> {
    return this.#call(
      'deleteDag',
      { method: 'DELETE', path: path`/dags/${fileName}`, expect: 'empty' },
      options,
    );
  }

  /** GET /dags/{fileName}/spec: the raw YAML and its errors. */
  async getDagSpec(fileName: string, options?: RequestOptions): Promise<ResultOf<'getDagSpec'>> {
    return this.#call(
      'getDagSpec',
      { method: 'GET', path: path`/dags/${fileName}/spec`, expect: 'json' },
      options,
    );
  }

  /**
   * PUT /dags/{fileName}/spec: replaces the YAML. An invalid spec resolves with its `errors`
   * (nothing is written) rather than rejecting.
   */
  async updateDagSpec(
    fileName: string,
    body: BodyOf<'updateDagSpec'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'updateDagSpec'>> {
    return this.#call(
      'updateDagSpec',
      { method: 'PUT', path: path`/dags/${fileName}/spec`, body, expect: 'json' },
      options,
    );
  }

  /** POST /dags/{fileName}/start: starts a run (queued when maxActiveRuns is reached). */
  async startDag(
    fileName: string,
    body: BodyOf<'startDag'> = {},
    options?: RequestOptions,
  ): Promise<ResultOf<'startDag'>> {
    return this.#call(
      'startDag',
      { method: 'POST', path: path`/dags/${fileName}/start`, body, expect: 'json' },
      options,
    );
  }

  /** POST /dags/{fileName}/enqueue: adds a run to the DAG's queue. */
  async enqueueDag(
    fileName: string,
    body: BodyOf<'enqueueDag'> = {},
    options?: RequestOptions,
  ): Promise<ResultOf<'enqueueDag'>> {
    return this.#call(
      'enqueueDag',
      { method: 'POST', path: path`/dags/${fileName}/enqueue`, body, expect: 'json' },
      options,
    );
  }

  /** GET /dags/{fileName}/dag-runs: the latest runs (up to 30) with per-step grid data. */
  async getDagHistory(
    fileName: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'getDagHistory'>> {
    return this.#call(
      'getDagHistory',
      { method: 'GET', path: path`/dags/${fileName}/dag-runs`, expect: 'json' },
      options,
    );
  }

  /** GET /dags/{fileName}/dag-runs/{dagRunId}: one run of the DAG of a file (`latest` allowed). */
  async getDagRunOfDag(
    fileName: string,
    dagRunId: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'getDagRunOfDag'>> {
    return this.#call(
      'getDagRunOfDag',
      { method: 'GET', path: path`/dags/${fileName}/dag-runs/${dagRunId}`, expect: 'json' },
      options,
    );
  }

  /** POST /dags/{fileName}/suspend: `{ suspend: true }` suspends cron scheduling, false resumes. */
  async suspendDag(
    fileName: string,
    body: BodyOf<'suspendDag'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'suspendDag'>> {
    return this.#call(
      'suspendDag',
      { method: 'POST', path: path`/dags/${fileName}/suspend`, body, expect: 'empty' },
      options,
    );
  }

  /** POST /dags/{fileName}/rename: renames the file and moves its history. */
  async renameDag(
    fileName: string,
    body: BodyOf<'renameDag'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'renameDag'>> {
    return this.#call(
      'renameDag',
      { method: 'POST', path: path`/dags/${fileName}/rename`, body, expect: 'empty' },
      options,
    );
  }

  // --- DAG runs -----------------------------------------------------------------------------

  /**
   * GET /dag-runs: runs across DAGs, newest first, `limit` (default 100, at most 1000) after
   * `offset` (see `iterateDagRuns`). Without fromDate/toDate only today's runs (UTC) are listed.
   */
  async listDagRuns(
    query?: QueryOf<'listDagRuns'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'listDagRuns'>> {
    return this.#call(
      'listDagRuns',
      { method: 'GET', path: '/dag-runs', query, expect: 'json' },
      options,
    );
  }

  /** GET /dag-runs/{name}: runs of one DAG name, newest first, at most 1000. */
  async listDagRunsByName(
    name: string,
    query?: QueryOf<'listDagRunsByName'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'listDagRunsByName'>> {
    return this.#call(
      'listDagRunsByName',
      { method: 'GET', path: path`/dag-runs/${name}`, query, expect: 'json' },
      options,
    );
  }

  /** GET /dag-runs/{name}/{dagRunId}: a run with its steps (`latest` allowed). */
  async getDagRun(
    name: string,
    dagRunId: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'getDagRun'>> {
    return this.#call(
      'getDagRun',
      { method: 'GET', path: path`/dag-runs/${name}/${dagRunId}`, expect: 'json' },
      options,
    );
  }

  /** GET /dag-runs/{name}/{dagRunId}/log: a window of the run (scheduler) log. */
  async getDagRunLog(
    name: string,
    dagRunId: string,
    query?: QueryOf<'getDagRunLog'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'getDagRunLog'>> {
    return this.#call(
      'getDagRunLog',
      { method: 'GET', path: path`/dag-runs/${name}/${dagRunId}/log`, query, expect: 'json' },
      options,
    );
  }

  /** GET /dag-runs/{name}/{dagRunId}/steps/{stepName}/log: a step's stdout (or `stream: 'stderr'`). */
  async getStepLog(
    name: string,
    dagRunId: string,
    stepName: string,
    query?: QueryOf<'getStepLog'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'getStepLog'>> {
    return this.#call(
      'getStepLog',
      {
        method: 'GET',
        path: path`/dag-runs/${name}/${dagRunId}/steps/${stepName}/log`,
        query,
        expect: 'json',
      },
      options,
    );
  }

  /** PATCH /dag-runs/{name}/{dagRunId}/steps/{stepName}/status: forces a step's status. */
  async updateStepStatus(
    name: string,
    dagRunId: string,
    stepName: string,
    body: BodyOf<'updateStepStatus'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'updateStepStatus'>> {
    return this.#call(
      'updateStepStatus',
      {
        method: 'PATCH',
        path: path`/dag-runs/${name}/${dagRunId}/steps/${stepName}/status`,
        body,
        expect: 'empty',
      },
      options,
    );
  }

  /**
   * POST /dag-runs/{name}/{dagRunId}/retry: a new attempt of the same run, or of one step
   * (`stepName`). The body's `dagRunId` defaults to the path's.
   */
  async retryDagRun(
    name: string,
    dagRunId: string,
    body: Partial<BodyOf<'retryDagRun'>> = {},
    options?: RequestOptions,
  ): Promise<ResultOf<'retryDagRun'>> {
    return this.#call(
      'retryDagRun',
      {
        method: 'POST',
        path: path`/dag-runs/${name}/${dagRunId}/retry`,
        body: { dagRunId, ...body },
        expect: 'empty',
      },
      options,
    );
  }

  /** POST /dag-runs/{name}/{dagRunId}/stop: stops a running run (400 not_running otherwise). */
  async stopDagRun(
    name: string,
    dagRunId: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'stopDagRun'>> {
    return this.#call(
      'stopDagRun',
      { method: 'POST', path: path`/dag-runs/${name}/${dagRunId}/stop`, expect: 'empty' },
      options,
    );
  }

  /** GET /dag-runs/{name}/{dagRunId}/dequeue: cancels a queued run. */
  async dequeueDagRun(
    name: string,
    dagRunId: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'dequeueDagRun'>> {
    return this.#call(
      'dequeueDagRun',
      { method: 'GET', path: path`/dag-runs/${name}/${dagRunId}/dequeue`, expect: 'empty' },
      options,
    );
  }

  /** GET /dag-runs/{name}/{dagRunId}/children/{childDAGRunId}: a child run with its steps. */
  async getChildDagRun(
    name: string,
    dagRunId: string,
    childDagRunId: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'getChildDagRun'>> {
    return this.#call(
      'getChildDagRun',
      {
        method: 'GET',
        path: path`/dag-runs/${name}/${dagRunId}/children/${childDagRunId}`,
        expect: 'json',
      },
      options,
    );
  }

  /** GET /dag-runs/{name}/{dagRunId}/children/{childDAGRunId}/log: the child run's log. */
  async getChildDagRunLog(
    name: string,
    dagRunId: string,
    childDagRunId: string,
    query?: QueryOf<'getChildDagRunLog'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'getChildDagRunLog'>> {
    return this.#call(
      'getChildDagRunLog',
      {
        method: 'GET',
        path: path`/dag-runs/${name}/${dagRunId}/children/${childDagRunId}/log`,
        query,
        expect: 'json',
      },
      options,
    );
  }

  /** GET …/children/{childDAGRunId}/steps/{stepName}/log: a child step's stdout or stderr. */
  async getChildStepLog(
    name: string,
    dagRunId: string,
    childDagRunId: string,
    stepName: string,
    query?: QueryOf<'getChildStepLog'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'getChildStepLog'>> {
    return this.#call(
      'getChildStepLog',
      {
        method: 'GET',
        path: path`/dag-runs/${name}/${dagRunId}/children/${childDagRunId}/steps/${stepName}/log`,
        query,
        expect: 'json',
      },
      options,
    );
  }

  /** PATCH …/children/{childDAGRunId}/steps/{stepName}/status: forces a child step's status. */
  async updateChildStepStatus(
    name: string,
    dagRunId: string,
    childDagRunId: string,
    stepName: string,
    body: BodyOf<'updateChildStepStatus'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'updateChildStepStatus'>> {
    return this.#call(
      'updateChildStepStatus',
      {
        method: 'PATCH',
        path: path`/dag-runs/${name}/${dagRunId}/children/${childDagRunId}/steps/${stepName}/status`,
        body,
        expect: 'empty',
      },
      options,
    );
  }

  // --- Dagu v1.30 additions ------------------------------------------------------------------

  /** POST /dags/validate: a spec's errors (each with its line) and, when it loads, the DAG. */
  async validateDagSpec(
    body: BodyOf<'validateDagSpec'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'validateDagSpec'>> {
    return this.#call(
      'validateDagSpec',
      { method: 'POST', path: '/dags/validate', body, expect: 'json' },
      options,
    );
  }

  /** POST /dags/{fileName}/stop-all: stops every running run of the DAG. */
  async stopAllDagRuns(
    fileName: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'stopAllDagRuns'>> {
    return this.#call(
      'stopAllDagRuns',
      { method: 'POST', path: path`/dags/${fileName}/stop-all`, expect: 'json' },
      options,
    );
  }

  /** POST /dag-runs: starts a run of an inline YAML spec (stored under the DAG's name). */
  async executeDagRunFromSpec(
    body: BodyOf<'executeDagRunFromSpec'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'executeDagRunFromSpec'>> {
    return this.#call(
      'executeDagRunFromSpec',
      { method: 'POST', path: '/dag-runs', body, expect: 'json' },
      options,
    );
  }

  /** POST /dag-runs/enqueue: queues a run of an inline YAML spec. */
  async enqueueDagRunFromSpec(
    body: BodyOf<'enqueueDagRunFromSpec'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'enqueueDagRunFromSpec'>> {
    return this.#call(
      'enqueueDagRunFromSpec',
      { method: 'POST', path: '/dag-runs/enqueue', body, expect: 'json' },
      options,
    );
  }

  /** GET /dag-runs/{name}/{dagRunId}/spec: the YAML the run used (not the file's text now). */
  async getDagRunSpec(
    name: string,
    dagRunId: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'getDagRunSpec'>> {
    return this.#call(
      'getDagRunSpec',
      { method: 'GET', path: path`/dag-runs/${name}/${dagRunId}/spec`, expect: 'json' },
      options,
    );
  }

  /** GET /dag-runs/{name}/{dagRunId}/outputs: the steps' `output:` values, by camelCase name. */
  async getDagRunOutputs(
    name: string,
    dagRunId: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'getDagRunOutputs'>> {
    return this.#call(
      'getDagRunOutputs',
      { method: 'GET', path: path`/dag-runs/${name}/${dagRunId}/outputs`, expect: 'json' },
      options,
    );
  }

  /** POST /dag-runs/{name}/{dagRunId}/reschedule: a new run with the same spec and params. */
  async rescheduleDagRun(
    name: string,
    dagRunId: string,
    body: BodyOf<'rescheduleDagRun'> = {},
    options?: RequestOptions,
  ): Promise<ResultOf<'rescheduleDagRun'>> {
    return this.#call(
      'rescheduleDagRun',
      {
        method: 'POST',
        path: path`/dag-runs/${name}/${dagRunId}/reschedule`,
        body,
        expect: 'json',
      },
      options,
    );
  }

  /** GET /dag-runs/{name}/{dagRunId}/sub-dag-runs: the run's sub-runs with status and times. */
  async getSubDagRuns(
    name: string,
    dagRunId: string,
    query?: QueryOf<'getSubDagRuns'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'getSubDagRuns'>> {
    return this.#call(
      'getSubDagRuns',
      {
        method: 'GET',
        path: path`/dag-runs/${name}/${dagRunId}/sub-dag-runs`,
        query,
        expect: 'json',
      },
      options,
    );
  }

  /** GET …/sub-dag-runs/{subDAGRunId}: v1.30's name for `getChildDagRun`. */
  async getSubDagRunDetails(
    name: string,
    dagRunId: string,
    subDagRunId: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'getSubDagRunDetails'>> {
    return this.#call(
      'getSubDagRunDetails',
      {
        method: 'GET',
        path: path`/dag-runs/${name}/${dagRunId}/sub-dag-runs/${subDagRunId}`,
        expect: 'json',
      },
      options,
    );
  }

  /** GET …/sub-dag-runs/{subDAGRunId}/log: v1.30's name for `getChildDagRunLog`. */
  async getSubDagRunLog(
    name: string,
    dagRunId: string,
    subDagRunId: string,
    query?: QueryOf<'getSubDagRunLog'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'getSubDagRunLog'>> {
    return this.#call(
      'getSubDagRunLog',
      {
        method: 'GET',
        path: path`/dag-runs/${name}/${dagRunId}/sub-dag-runs/${subDagRunId}/log`,
        query,
        expect: 'json',
      },
      options,
    );
  }

  /** GET …/sub-dag-runs/{subDAGRunId}/steps/{stepName}/log: v1.30's name for `getChildStepLog`. */
  async getSubDagRunStepLog(
    name: string,
    dagRunId: string,
    subDagRunId: string,
    stepName: string,
    query?: QueryOf<'getSubDagRunStepLog'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'getSubDagRunStepLog'>> {
    return this.#call(
      'getSubDagRunStepLog',
      {
        method: 'GET',
        path: path`/dag-runs/${name}/${dagRunId}/sub-dag-runs/${subDagRunId}/steps/${stepName}/log`,
        query,
        expect: 'json',
      },
      options,
    );
  }

  /** PATCH …/sub-dag-runs/{subDAGRunId}/steps/{stepName}/status: v1.30's `updateChildStepStatus`. */
  async updateSubDagRunStepStatus(
    name: string,
    dagRunId: string,
    subDagRunId: string,
    stepName: string,
    body: BodyOf<'updateSubDagRunStepStatus'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'updateSubDagRunStepStatus'>> {
    return this.#call(
      'updateSubDagRunStepStatus',
      {
        method: 'PATCH',
        path: path`/dag-runs/${name}/${dagRunId}/sub-dag-runs/${subDagRunId}/steps/${stepName}/status`,
        body,
        expect: 'empty',
      },
      options,
    );
  }

  /** GET /queues: every queue with its running and queued runs and its limit. */
  async listQueues(options?: RequestOptions): Promise<ResultOf<'listQueues'>> {
    return this.#call('listQueues', { method: 'GET', path: '/queues', expect: 'json' }, options);
  }

  /** GET /services/scheduler: the scheduler of the server process, if it runs one. */
  async getSchedulerStatus(options?: RequestOptions): Promise<ResultOf<'getSchedulerStatus'>> {
    return this.#call(
      'getSchedulerStatus',
      { method: 'GET', path: '/services/scheduler', expect: 'json' },
      options,
    );
  }

  /**
   * POST /webhooks/{fileName}: queues a run with the DAG's webhook `token` (not the client's
   * credentials); `payload` reaches the run as the WEBHOOK_PAYLOAD parameter.
   */
  async triggerWebhook(
    fileName: string,
    token: string,
    body: BodyOf<'triggerWebhook'> = {},
    options?: RequestOptions,
  ): Promise<ResultOf<'triggerWebhook'>> {
    return this.#call(
      'triggerWebhook',
      { method: 'POST', path: path`/webhooks/${fileName}`, body, expect: 'json' },
      { ...options, headers: { ...options?.headers, Authorization: `Bearer ${token}` } },
    );
  }

  /** GET /webhooks: every DAG's webhook (admin). */
  async listWebhooks(options?: RequestOptions): Promise<ResultOf<'listWebhooks'>> {
    return this.#call(
      'listWebhooks',
      { method: 'GET', path: '/webhooks', expect: 'json' },
      options,
    );
  }

  /** GET /dags/{fileName}/webhook: the DAG's webhook, without its token (admin). */
  async getDagWebhook(
    fileName: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'getDagWebhook'>> {
    return this.#call(
      'getDagWebhook',
      { method: 'GET', path: path`/dags/${fileName}/webhook`, expect: 'json' },
      options,
    );
  }

  /** POST /dags/{fileName}/webhook: creates the DAG's webhook; the token is in this answer only. */
  async createDagWebhook(
    fileName: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'createDagWebhook'>> {
    return this.#call(
      'createDagWebhook',
      { method: 'POST', path: path`/dags/${fileName}/webhook`, expect: 'json' },
      options,
    );
  }

  /** DELETE /dags/{fileName}/webhook: deletes the DAG's webhook (admin). */
  async deleteDagWebhook(
    fileName: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'deleteDagWebhook'>> {
    return this.#call(
      'deleteDagWebhook',
      { method: 'DELETE', path: path`/dags/${fileName}/webhook`, expect: 'empty' },
      options,
    );
  }

  /** POST /dags/{fileName}/webhook/regenerate: a new token; the old one stops working. */
  async regenerateDagWebhookToken(
    fileName: string,
    options?: RequestOptions,
  ): Promise<ResultOf<'regenerateDagWebhookToken'>> {
    return this.#call(
      'regenerateDagWebhookToken',
      { method: 'POST', path: path`/dags/${fileName}/webhook/regenerate`, expect: 'json' },
      options,
    );
  }

  /** POST /dags/{fileName}/webhook/toggle: enables or disables the DAG's webhook. */
  async toggleDagWebhook(
    fileName: string,
    body: BodyOf<'toggleDagWebhook'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'toggleDagWebhook'>> {
    return this.#call(
      'toggleDagWebhook',
      { method: 'POST', path: path`/dags/${fileName}/webhook/toggle`, body, expect: 'json' },
      options,
    );
  }

  // --- workers (a dagu-ts extension) --------------------------------------------------------

  /** GET /workers: the workers this server has seen, with their runs (Dagu v1.30 shape). */
  async getWorkers(options?: RequestOptions): Promise<ResultOf<'getWorkers'>> {
    return this.#call('getWorkers', { method: 'GET', path: '/workers', expect: 'json' }, options);
  }

  /** POST /workers/{workerId}/claim: long-polls for a run this worker may execute (role worker). */
  async claimWorkerRun(
    workerId: string,
    body: BodyOf<'claimWorkerRun'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'claimWorkerRun'>> {
    return this.#call(
      'claimWorkerRun',
      { method: 'POST', path: path`/workers/${workerId}/claim`, body, expect: 'json' },
      options,
    );
  }

  /** POST /workers/{workerId}/heartbeat: answers the runs to stop (role worker). */
  async workerHeartbeat(
    workerId: string,
    body: BodyOf<'workerHeartbeat'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'workerHeartbeat'>> {
    return this.#call(
      'workerHeartbeat',
      { method: 'POST', path: path`/workers/${workerId}/heartbeat`, body, expect: 'json' },
      options,
    );
  }

  /** POST /workers/{workerId}/runs/{name}/{dagRunId}/events: records a run event once. */
  async reportWorkerEvent(
    workerId: string,
    name: string,
    dagRunId: string,
    body: BodyOf<'reportWorkerEvent'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'reportWorkerEvent'>> {
    return this.#call(
      'reportWorkerEvent',
      {
        method: 'POST',
        path: path`/workers/${workerId}/runs/${name}/${dagRunId}/events`,
        body,
        expect: 'json',
      },
      options,
    );
  }

  /** POST /workers/{workerId}/runs/{name}/{dagRunId}/logs: opens or appends to a run's log. */
  async writeWorkerLog(
    workerId: string,
    name: string,
    dagRunId: string,
    body: BodyOf<'writeWorkerLog'>,
    options?: RequestOptions,
  ): Promise<ResultOf<'writeWorkerLog'>> {
    return this.#call(
      'writeWorkerLog',
      {
        method: 'POST',
        path: path`/workers/${workerId}/runs/${name}/${dagRunId}/logs`,
        body,
        expect: 'json',
      },
      options,
    );
  }

  // --- helpers ------------------------------------------------------------------------------

  /**
   * Polls a run until it is over (failed 2, canceled 3, finished 4, partial success 6) and
   * resolves with its final details; a queued or running run keeps it waiting. Rejects with a
   * DaguTimeoutError after `timeoutMs`, with the signal's reason when `signal` aborts, and
   * with the error of a poll that fails. `latest` is resolved once, by the first poll, and that
   * run is followed to its end even when newer runs start meanwhile.
   */
  async waitForDagRun(
    name: string,
    dagRunId: string,
    options: WaitOptions = {},
  ): Promise<DAGRunDetails> {
    const { timeoutMs, signal, onUpdate } = options;
    const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    const requestLimit = this.#transport.timeoutMs > 0 ? this.#transport.timeoutMs : Infinity;
    let last: DAGRunDetails | undefined;
    const timedOut = (): DaguTimeoutError =>
      new DaguTimeoutError(
        `dag-run ${name}/${dagRunId} did not finish within ${timeoutMs} ms` +
          (last ? ` (still ${last.statusLabel})` : ''),
        timeoutMs ?? 0,
      );
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw timedOut();
      // A poll never outlives the wait: its limit is cut to the time left.
      const clipped = remaining < requestLimit;
      const limit = Math.min(remaining, requestLimit);
      try {
        const { dagRunDetails } = await this.getDagRun(name, last?.dagRunId ?? dagRunId, {
          ...(signal ? { signal } : {}),
          ...(Number.isFinite(limit) ? { timeoutMs: Math.max(1, Math.ceil(limit)) } : {}),
        });
        last = dagRunDetails;
      } catch (error) {
        if (clipped && error instanceof DaguTimeoutError) throw timedOut();
        throw error;
      }
      onUpdate?.(last);
      if (isTerminalStatus(last.status)) return last;
      const left = deadline - Date.now();
      if (left <= 0) throw timedOut();
      await sleep(Math.min(intervalMs, left), signal);
    }
  }

  /**
   * Starts a run of a DAG file and waits for it to end (see `waitForDagRun`); resolves with
   * the final details whatever the outcome, so check `status` (4 is finished).
   */
  async startAndWait(
    fileName: string,
    body: BodyOf<'startDag'> = {},
    options: WaitOptions = {},
  ): Promise<DAGRunDetails> {
    const started = Date.now();
    const request = options.signal ? { signal: options.signal } : {};
    const { dagRunId } = await this.startDag(fileName, body, request);
    // Runs are keyed by the DAG's name, which may differ from its file name.
    const { dagRun } = await this.getDagRunOfDag(fileName, dagRunId, request);
    const wait = { ...options };
    if (options.timeoutMs !== undefined)
      wait.timeoutMs = Math.max(0, options.timeoutMs - (Date.now() - started));
    return this.waitForDagRun(dagRun.name, dagRunId, wait);
  }

  /** Every DAG file matching the filters, page after page (`perPage` sets the page size). */
  async *iterateDags(
    query: IterateDagsQuery = {},
    options?: RequestOptions,
  ): AsyncGenerator<DAGFile, void, undefined> {
    let page = query.page ?? 1;
    for (;;) {
      const { dags, pagination } = await this.listDags({ ...query, page }, options);
      yield* dags;
      if (pagination.currentPage >= pagination.totalPages) return;
      page = Math.max(page, pagination.currentPage) + 1;
    }
  }

  /**
   * Every run matching the filters of `listDagRuns`, newest first. A listing stops at 1000
   * runs; past that the iterator asks again for the runs created before the oldest one seen
   * (only more than 1000 runs created within the same second could be missed).
   */
  iterateDagRuns(
    query: QueryOf<'listDagRuns'> = {},
    options?: RequestOptions,
  ): AsyncGenerator<DAGRunSummary, void, undefined> {
    return iterateRuns((q) => this.listDagRuns(q, options), query);
  }

  /** Every run of one DAG name matching the filters, newest first (see `iterateDagRuns`). */
  iterateDagRunsByName(
    name: string,
    query: QueryOf<'listDagRunsByName'> = {},
    options?: RequestOptions,
  ): AsyncGenerator<DAGRunSummary, void, undefined> {
    return iterateRuns((q) => this.listDagRunsByName(name, q, options), query);
  }
}

/** A client for a server (same as `new DaguClient(options)`). */
export function createClient(options: DaguClientOptions): DaguClient {
  return new DaguClient(options);
}

interface RunWindow {
  fromDate?: number;
  toDate?: number;
  limit?: number;
  offset?: number;
}

async function* iterateRuns<Q extends RunWindow>(
  list: (query: Q) => Promise<ListDAGRunsResponse>,
  query: Q,
): AsyncGenerator<DAGRunSummary, void, undefined> {
  const seen = new Set<string>();
  let window: Q = query;
  for (;;) {
    // Full pages: the server's default page of GET /dag-runs is smaller than the cap.
    const { dagRuns } = await list({ ...window, limit: RUN_LIST_LIMIT, offset: 0 });
    let oldest = Infinity;
    for (const run of dagRuns) {
      oldest = Math.min(oldest, earliestTime(run));
      const key = `${run.name}\u0000${run.dagRunId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      yield run;
    }
    if (dagRuns.length < RUN_LIST_LIMIT || !Number.isFinite(oldest)) return;
    // A run is created no later than any time it shows, so every run not listed yet was
    // created before the end of the oldest shown second. toDate is exclusive, in seconds.
    const toDate = Math.floor(oldest / 1000) + 1;
    if (window.toDate !== undefined && toDate >= window.toDate) return;
    const next: Q = { ...window, toDate };
    // Without dates the server lists only today's runs: keep that lower bound explicit.
    if (query.fromDate === undefined && query.toDate === undefined) {
      const midnight = new Date();
      midnight.setUTCHours(0, 0, 0, 0);
      next.fromDate = Math.floor(midnight.getTime() / 1000);
    }
    window = next;
  }
}

/** The earliest of a run's queued/started/finished times in ms (Infinity when it has none). */
function earliestTime(run: DAGRunSummary): number {
  let earliest = Infinity;
  for (const text of [run.queuedAt, run.startedAt, run.finishedAt]) {
    const time = text ? Date.parse(text) : NaN;
    if (!Number.isNaN(time)) earliest = Math.min(earliest, time);
  }
  return earliest;
}

/** setTimeout as a promise that an AbortSignal can cut short. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    signal?.throwIfAborted();
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
