// The database schema as forward-only migrations. A migration is never edited once released:
// a change is a new entry with the next version. `openConnection` applies the missing ones.

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
-- Which migrations ran; PRAGMA user_version holds the latest for a fast check at open.
CREATE TABLE schema_migrations (
  version    INTEGER PRIMARY KEY,
  name       TEXT NOT NULL,
  applied_at TEXT NOT NULL
);

-- DAG definitions used by runs, stored once per distinct content (sha256 of the JSON).
CREATE TABLE dag_definitions (
  id         INTEGER PRIMARY KEY,
  hash       TEXT NOT NULL UNIQUE,
  definition TEXT NOT NULL
);

-- One row per DAG run (root or child); mirrors the latest attempt for listing and filtering.
CREATE TABLE dag_runs (
  id                INTEGER PRIMARY KEY,
  name              TEXT NOT NULL,
  dag_run_id        TEXT NOT NULL,
  is_root           INTEGER NOT NULL CHECK (is_root IN (0, 1)),
  root_name         TEXT NOT NULL,
  root_dag_run_id   TEXT NOT NULL,
  parent_name       TEXT,
  parent_dag_run_id TEXT,
  status            INTEGER NOT NULL,
  params            TEXT NOT NULL DEFAULT '',
  trigger           TEXT NOT NULL,
  queue             TEXT NOT NULL,
  created_at        INTEGER NOT NULL, -- Unix ms: enqueue time or first start; orders listings
  updated_at        INTEGER NOT NULL, -- Unix ms of the last write; the age used by retention
  queued_at         TEXT NOT NULL DEFAULT '',
  started_at        TEXT NOT NULL DEFAULT '',
  finished_at       TEXT NOT NULL DEFAULT '',
  claimed_at        INTEGER,          -- a queued run taken by claimNext, not started yet
  owner_pid         INTEGER,          -- process executing (or starting) the run
  owner_start       TEXT,             -- that process's start identity (boot id + start time)
  owner_host        TEXT,
  definition_id     INTEGER NOT NULL REFERENCES dag_definitions (id),
  attempt_seq       INTEGER NOT NULL, -- attempts.seq of the latest attempt
  attempt_id        TEXT NOT NULL,
  error             TEXT NOT NULL DEFAULT '',
  log_path          TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX dag_runs_root_id ON dag_runs (name, dag_run_id) WHERE is_root = 1;
CREATE UNIQUE INDEX dag_runs_child_id
  ON dag_runs (root_name, root_dag_run_id, dag_run_id) WHERE is_root = 0;
CREATE INDEX dag_runs_by_name ON dag_runs (name, is_root, created_at DESC, dag_run_id);
CREATE INDEX dag_runs_by_status ON dag_runs (is_root, status, created_at DESC, dag_run_id);
CREATE INDEX dag_runs_by_time ON dag_runs (is_root, created_at DESC, dag_run_id);
CREATE INDEX dag_runs_by_run_id ON dag_runs (dag_run_id);
CREATE INDEX dag_runs_active ON dag_runs (queue) WHERE status IN (1, 5);
CREATE INDEX dag_runs_definition ON dag_runs (definition_id);

-- One row per attempt (first run, retry, queued execution) with the full DagRunSnapshot JSON.
CREATE TABLE attempts (
  id         INTEGER PRIMARY KEY,
  run        INTEGER NOT NULL REFERENCES dag_runs (id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  attempt_id TEXT NOT NULL,
  status     INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  snapshot   TEXT NOT NULL,
  UNIQUE (run, seq)
);

CREATE TABLE queue_items (
  id          INTEGER PRIMARY KEY,
  run         INTEGER NOT NULL UNIQUE REFERENCES dag_runs (id) ON DELETE CASCADE,
  queue       TEXT NOT NULL,
  name        TEXT NOT NULL,
  dag_run_id  TEXT NOT NULL,
  priority    INTEGER NOT NULL,
  enqueued_at TEXT NOT NULL,
  enqueued_ms INTEGER NOT NULL
);
CREATE INDEX queue_items_next ON queue_items (queue, priority DESC, enqueued_ms, id);

CREATE TABLE suspend_flags (
  name         TEXT PRIMARY KEY,
  suspended_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE cancel_requests (
  name         TEXT NOT NULL,
  dag_run_id   TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  PRIMARY KEY (name, dag_run_id)
) WITHOUT ROWID;

-- Double-run protection of the scheduler: one row per DAG and scheduled minute.
CREATE TABLE scheduler_ticks (
  name             TEXT NOT NULL,
  scheduled_minute INTEGER NOT NULL, -- Unix ms truncated to the minute
  claimed_at       TEXT NOT NULL,
  owner_pid        INTEGER NOT NULL,
  PRIMARY KEY (name, scheduled_minute)
) WITHOUT ROWID;
`,
  },
  {
    version: 2,
    name: 'step process groups',
    sql: `
-- Process groups of running steps (a step leads its own group: pgid = its pid), so that recovery
-- can end the steps of a process that died without stopping them. A row goes when its step ends.
CREATE TABLE step_processes (
  owner_host  TEXT NOT NULL,
  pgid        INTEGER NOT NULL,
  pgid_start  TEXT NOT NULL,    -- the group leader's start identity (boot id + start time)
  owner_pid   INTEGER NOT NULL, -- process that started the step (its runs are abandoned when it dies)
  owner_start TEXT NOT NULL,
  PRIMARY KEY (owner_host, pgid)
) WITHOUT ROWID;
`,
  },
  {
    version: 3,
    name: 'node state in its own rows',
    sql: `
-- One row per node (step or handler) of an attempt, so that a step's event rewrites its own row
-- and nothing else: the cost of a write no longer grows with the size of the run. The attempt's
-- snapshot keeps the run-level fields only; a snapshot is read back as those plus these rows.
CREATE TABLE attempt_nodes (
  id      INTEGER PRIMARY KEY,
  attempt INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
  slot    INTEGER NOT NULL, -- index in the snapshot's nodes; a handler: onSuccess -4,
                            -- onFailure -3, onCancel -2, onExit -1
  handler TEXT,             -- the handler's name (slot < 0)
  status  INTEGER NOT NULL, -- NodeStatus, as in state
  step    TEXT NOT NULL,    -- the node's Step as JSON (written with the row, never changed)
  state   TEXT NOT NULL,    -- the rest of the NodeState as JSON
  UNIQUE (attempt, slot)
);

INSERT INTO attempt_nodes (attempt, slot, handler, status, step, state)
SELECT a.id, n.key, NULL, json_extract(n.value, '$.status'), json_extract(n.value, '$.step'),
       json_remove(n.value, '$.step')
FROM attempts a, json_each(a.snapshot, '$.nodes') n;

INSERT INTO attempt_nodes (attempt, slot, handler, status, step, state)
SELECT a.id,
       CASE h.key WHEN 'onSuccess' THEN -4 WHEN 'onFailure' THEN -3 WHEN 'onCancel' THEN -2
                  ELSE -1 END,
       h.key, json_extract(h.value, '$.status'), json_extract(h.value, '$.step'),
       json_remove(h.value, '$.step')
FROM attempts a, json_each(a.snapshot, '$.handlers') h
WHERE h.key IN ('onSuccess', 'onFailure', 'onCancel', 'onExit');

UPDATE attempts SET snapshot = json_remove(snapshot, '$.nodes', '$.handlers');
`,
  },
  {
    version: 4,
    name: 'webhooks',
    sql: `
-- Per-DAG webhook tokens (Dagu v1.30): only a SHA-256 of each token is kept.
CREATE TABLE webhooks (
  dag_name     TEXT PRIMARY KEY,
  id           TEXT NOT NULL UNIQUE,
  token_hash   TEXT NOT NULL,
  token_prefix TEXT NOT NULL,
  enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  last_used_at TEXT,
  created_by   TEXT
) WITHOUT ROWID;
`,
  },
  {
    version: 5,
    name: 'workers and run leases',
    sql: `
-- Runs for workers wait in queue_items with the labels a worker needs (JSON object; NULL = the
-- server runs it). The server's own claim skips them; a worker's claim takes them.
ALTER TABLE queue_items ADD COLUMN worker_selector TEXT;
CREATE INDEX queue_items_remote ON queue_items (priority DESC, enqueued_ms, id)
  WHERE worker_selector IS NOT NULL;

-- Workers seen by this server: what they said on their last heartbeat.
CREATE TABLE workers (
  id                TEXT PRIMARY KEY,
  labels            TEXT NOT NULL,    -- JSON object
  max_active_runs   INTEGER NOT NULL,
  busy              INTEGER NOT NULL,
  last_heartbeat_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- A worker's hold on a root run, from its claim on. The row stays after the run ends (active 0)
-- so that the run keeps its workerId.
CREATE TABLE run_leases (
  run         INTEGER PRIMARY KEY REFERENCES dag_runs (id) ON DELETE CASCADE,
  worker_id   TEXT NOT NULL,
  selector    TEXT NOT NULL,          -- the queue item's worker_selector, to queue it again
  priority    INTEGER NOT NULL,
  claimed_ms  INTEGER NOT NULL,
  last_seq    INTEGER NOT NULL DEFAULT 0,
  active      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX run_leases_active ON run_leases (worker_id) WHERE active = 1;
`,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;
