// The PostgreSQL schema as forward-only migrations, numbered on their own (the SQLite schema has
// its own list). It mirrors SQLite's tables, node rows included, plus the owner leases that
// replace pids across machines. A migration is never edited once released.
import type { Migration } from '../migrations.js';

export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE dag_definitions (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  hash       TEXT NOT NULL UNIQUE,
  definition TEXT NOT NULL
);

-- A process using the database: it refreshes heartbeat_at (database clock, Unix ms) while it
-- lives. Runs it owns whose lease lapsed are closed by the others.
CREATE TABLE store_owners (
  owner_id     TEXT PRIMARY KEY,
  host         TEXT NOT NULL,
  pid          INTEGER NOT NULL,
  pid_start    TEXT NOT NULL,
  started_at   BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL
);

CREATE TABLE dag_runs (
  id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name              TEXT NOT NULL,
  dag_run_id        TEXT NOT NULL,
  is_root           SMALLINT NOT NULL CHECK (is_root IN (0, 1)),
  root_name         TEXT NOT NULL,
  root_dag_run_id   TEXT NOT NULL,
  parent_name       TEXT,
  parent_dag_run_id TEXT,
  status            INTEGER NOT NULL,
  params            TEXT NOT NULL DEFAULT '',
  trigger           TEXT NOT NULL,
  queue             TEXT NOT NULL,
  created_at        BIGINT NOT NULL,
  updated_at        BIGINT NOT NULL,
  queued_at         TEXT NOT NULL DEFAULT '',
  started_at        TEXT NOT NULL DEFAULT '',
  finished_at       TEXT NOT NULL DEFAULT '',
  claimed_at        BIGINT,
  owner_id          TEXT,
  owner_pid         INTEGER,
  owner_start       TEXT,
  owner_host        TEXT,
  definition_id     BIGINT NOT NULL REFERENCES dag_definitions (id),
  attempt_seq       INTEGER NOT NULL,
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

CREATE TABLE attempts (
  id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run        BIGINT NOT NULL REFERENCES dag_runs (id) ON DELETE CASCADE,
  seq        INTEGER NOT NULL,
  attempt_id TEXT NOT NULL,
  status     INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  snapshot   TEXT NOT NULL, -- the run-level fields of the DagRunSnapshot (JSON)
  UNIQUE (run, seq)
);

-- One row per node of an attempt: a step's event rewrites its row and nothing else.
CREATE TABLE attempt_nodes (
  attempt BIGINT NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
  slot    INTEGER NOT NULL,
  handler TEXT,
  status  INTEGER NOT NULL,
  step    TEXT NOT NULL,
  state   TEXT NOT NULL,
  PRIMARY KEY (attempt, slot)
);

CREATE TABLE queue_items (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run         BIGINT NOT NULL UNIQUE REFERENCES dag_runs (id) ON DELETE CASCADE,
  queue       TEXT NOT NULL,
  name        TEXT NOT NULL,
  dag_run_id  TEXT NOT NULL,
  priority    INTEGER NOT NULL,
  enqueued_at TEXT NOT NULL,
  enqueued_ms BIGINT NOT NULL
);
CREATE INDEX queue_items_next ON queue_items (queue, priority DESC, enqueued_ms, id);
CREATE INDEX queue_items_run ON queue_items (name, dag_run_id);

CREATE TABLE suspend_flags (
  name         TEXT PRIMARY KEY,
  suspended_at TEXT NOT NULL
);

CREATE TABLE cancel_requests (
  name         TEXT NOT NULL,
  dag_run_id   TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  PRIMARY KEY (name, dag_run_id)
);

CREATE TABLE scheduler_ticks (
  name             TEXT NOT NULL,
  scheduled_minute BIGINT NOT NULL,
  claimed_at       TEXT NOT NULL,
  owner_id         TEXT NOT NULL,
  PRIMARY KEY (name, scheduled_minute)
);

CREATE TABLE step_processes (
  owner_host  TEXT NOT NULL,
  pgid        INTEGER NOT NULL,
  pgid_start  TEXT NOT NULL,
  owner_pid   INTEGER NOT NULL,
  owner_start TEXT NOT NULL,
  PRIMARY KEY (owner_host, pgid)
);
`,
  },
  {
    version: 2,
    name: 'webhooks',
    sql: `
-- Per-DAG webhook tokens (Dagu v1.30): only a SHA-256 of each token is kept.
CREATE TABLE webhooks (
  dag_name     TEXT PRIMARY KEY,
  id           TEXT NOT NULL UNIQUE,
  token_hash   TEXT NOT NULL,
  token_prefix TEXT NOT NULL,
  enabled      BOOLEAN NOT NULL,
  created_at   TEXT NOT NULL,
  updated_at   TEXT NOT NULL,
  last_used_at TEXT,
  created_by   TEXT
);
`,
  },
  {
    version: 3,
    name: 'log chunks',
    sql: `
-- Logs readable from every server: each log (a run log, a step's stdout or stderr), named by its
-- reference, and its bytes in chunks by byte offset. size counts the bytes stored; a log cut
-- at the store's cap ends with a truncation marker and has truncated set.
CREATE TABLE log_files (
  id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ref         TEXT NOT NULL UNIQUE,
  dag_name    TEXT NOT NULL,
  dag_run_id  TEXT NOT NULL,
  attempt_id  TEXT NOT NULL,
  step        TEXT,
  stream      TEXT NOT NULL CHECK (stream IN ('run', 'stdout', 'stderr')),
  size        BIGINT NOT NULL DEFAULT 0,
  truncated   BOOLEAN NOT NULL DEFAULT FALSE,
  created_at  BIGINT NOT NULL
);
CREATE INDEX log_files_by_run ON log_files (dag_run_id, attempt_id);
CREATE INDEX log_files_by_dag ON log_files (dag_name);

CREATE TABLE log_chunks (
  log          BIGINT NOT NULL REFERENCES log_files (id) ON DELETE CASCADE,
  start_offset BIGINT NOT NULL,
  data         BYTEA NOT NULL,
  PRIMARY KEY (log, start_offset)
);
`,
  },
  {
    version: 4,
    name: 'workers and run leases',
    sql: `
-- Runs for workers wait in queue_items with the labels a worker needs (JSON object; NULL = a
-- server runs it). The servers' own claim skips them; a worker's claim takes them.
ALTER TABLE queue_items ADD COLUMN worker_selector TEXT;
CREATE INDEX queue_items_remote ON queue_items (priority DESC, enqueued_ms, id)
  WHERE worker_selector IS NOT NULL;

-- Workers seen by any server: what they said on their last heartbeat.
CREATE TABLE workers (
  id                TEXT PRIMARY KEY,
  labels            TEXT NOT NULL,    -- JSON object
  max_active_runs   INTEGER NOT NULL,
  busy              INTEGER NOT NULL,
  last_heartbeat_ms BIGINT NOT NULL
);

-- A worker's hold on a root run, from its claim on. The row stays after the run ends (active
-- false) so that the run keeps its workerId.
CREATE TABLE run_leases (
  run        BIGINT PRIMARY KEY REFERENCES dag_runs (id) ON DELETE CASCADE,
  worker_id  TEXT NOT NULL,
  selector   TEXT NOT NULL,           -- the queue item's worker_selector, to queue it again
  priority   INTEGER NOT NULL,
  claimed_ms BIGINT NOT NULL,
  last_seq   INTEGER NOT NULL DEFAULT 0,
  active     BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE INDEX run_leases_active ON run_leases (worker_id) WHERE active;
`,
  },
  {
    version: 5,
    name: 'claim in one call',
    sql: `
-- A server's claim from a queue in one round trip. Each statement of a VOLATILE function reads a
-- fresh snapshot, so the count taken after the queue's advisory lock sees every claim committed
-- before it, as the same statements in an explicit transaction would. The lock is held until
-- the caller's transaction ends. Returns the claimed item, or nothing (queue full or empty).
CREATE FUNCTION dagu_claim_next(p_queue TEXT, p_max INTEGER, p_lock TEXT, p_now BIGINT,
  p_owner TEXT, p_pid INTEGER, p_start TEXT, p_host TEXT)
RETURNS SETOF queue_items LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  claimed queue_items%ROWTYPE;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(p_lock));
  IF (SELECT COUNT(*) FROM dag_runs r WHERE r.queue = p_queue AND r.status IN (1, 5)
      AND (r.status = 1 OR r.claimed_at IS NOT NULL)) >= p_max THEN
    RETURN;
  END IF;
  LOOP
    DELETE FROM queue_items q WHERE q.id = (
      SELECT i.id FROM queue_items i WHERE i.queue = p_queue AND i.worker_selector IS NULL
      ORDER BY i.priority DESC, i.enqueued_ms, i.id LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING q.* INTO claimed;
    IF NOT FOUND THEN
      RETURN;
    END IF;
    -- A run no longer queued (canceled meanwhile) loses its item; the next item is tried.
    UPDATE dag_runs r SET claimed_at = p_now, owner_id = p_owner, owner_pid = p_pid,
      owner_start = p_start, owner_host = p_host, updated_at = p_now
    WHERE r.id = claimed.run AND r.status = 5 AND r.claimed_at IS NULL;
    IF FOUND THEN
      RETURN NEXT claimed;
      RETURN;
    END IF;
  END LOOP;
END
$$;
`,
  },
];

export const PG_LATEST_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1]!.version;
