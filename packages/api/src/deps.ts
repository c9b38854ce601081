// What the API router needs from the process that mounts it: core's ports only. The server app
// builds these from the store and the run launcher; tests may build them the same way on a temp
// home.
import type {
  CancelStore,
  DagCatalog,
  DagRepository,
  FlagStore,
  LogStore,
  QueueStore,
  RunControl,
  RunEventListener,
  RunStore,
  WebhookStore,
  WorkerStore,
  Dag,
} from '@dagu-ts/core';

export type Role = 'admin' | 'operator' | 'viewer' | 'worker';

export interface AuthOptions {
  /** Basic auth (DAGU_AUTH_BASIC_USERNAME / DAGU_AUTH_BASIC_PASSWORD). */
  basic?: { username: string; password: string };
  /** Static bearer token (DAGU_AUTH_TOKEN): full (admin) rights. */
  token?: string;
  /** HS256 secret for signed bearer JWTs (DAGU_AUTH_JWT_SECRET); role claim admin|operator|viewer. */
  jwtSecret?: string;
}

export interface ApiDeps {
  dags: DagRepository;
  /**
   * The parsed files of `dags`, shared with the scheduler so each file is parsed once per change
   * (default: the API's own catalog of `dags`).
   */
  catalog?: DagCatalog;
  runs: RunStore;
  queue: QueueStore;
  flags: FlagStore;
  cancels: CancelStore;
  /** Starts, queues, retries and stops runs (core's RunLauncher). */
  launcher: RunControl;
  /** The runs' logs, read by the log endpoints (the store moves them with a renamed DAG). */
  logs: LogStore;
  /** Per-DAG webhook tokens (Dagu v1.30); without it the webhook routes answer 404/401. */
  webhooks?: WebhookStore;
  /** queues.config: the configured (global) queues and their limits, shown by GET /queues. */
  queueLimits?: ReadonlyMap<string, number>;
  /** Product version reported by /health and dagu_info. */
  version: string;
  /** Prefix before /api/v2 (DAGU_BASE_PATH), e.g. "/dagu"; default "". */
  basePath?: string;
  /** No auth option set = open (local development default). */
  auth?: AuthOptions;
  /** permissions.writeDAGs / permissions.runDAGs (both default true). */
  permissions?: { writeDAGs?: boolean; runDAGs?: boolean };
  /**
   * Origins (`https://ui.example`) a browser page may call the API from (CORS); `['*']` allows
   * any. Default: none — only pages served by this server itself (same origin).
   */
  corsAllowedOrigins?: readonly string[];
  /**
   * Host names served when auth is off (DNS rebinding protection), besides `localhost` and IP
   * addresses, which are always served; `['*']` allows any. Include the listen host's name.
   */
  allowedHosts?: readonly string[];
  /** DAGU_METRICS=public: /metrics without auth even when auth is on. */
  publicMetrics?: boolean;
  /** Whether cron scheduling runs in this process (dagu_scheduler_running). */
  schedulerRunning?: () => boolean;
  /** Structured request log lines; default: JSON lines to stderr. */
  log?: (entry: Record<string, unknown>) => void;
  /** Events of the runs this process executes (feeds dagu_dag_runs_total and friends). */
  subscribeRunEvents?: (listener: RunEventListener) => () => void;
  /** Server start time for uptime (default: when the router is created). */
  startedAt?: Date;
  /** Distributed execution: without it the worker endpoints answer 404. */
  workers?: WorkerDeps;
}

export interface WorkerDeps {
  store: WorkerStore;
  /** A queue's run limit for a DAG (the launcher's rule, so limits hold across workers). */
  limitOf: (dag: Dag) => number;
  /** How long a worker may stay silent before its runs are failed (for healthStatus). */
  leaseMs: number;
  /** Longest wait of a claim long-poll (default 20 s). */
  maxClaimWaitMs?: number;
  /**
   * The DAG files a claimed run calls by name (core's collectChildDags on the server's DAGs
   * directory): the worker has no DAG files, so they go with the claim.
   */
  childDagsOf?: (dag: Dag) => Promise<Record<string, Dag>>;
}
