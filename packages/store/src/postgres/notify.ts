// Changes other servers make, pushed through PostgreSQL's LISTEN/NOTIFY: an enqueue, a run that
// ended (its queue slot is free), a stop request. Each is notified in the transaction that
// makes the change, so it is delivered at commit and never for a rollback. A process listens on
// one dedicated connection, opened on the first subscriber (a CLI command never opens it); when
// that connection is lost it reconnects and tells its listeners to `resync`, since changes
// made meanwhile were not delivered.
import pg from 'pg';
import type { StateChange, StateChanges } from '@dagu-ts/core';
import type { Queryable } from './connection.js';

export const CHANGES_CHANNEL = 'dagu_ts_changes';

/** The payload of a change: the sender's owner id (its own are not delivered back) and the change. */
export function payloadOf(ownerId: string, change: StateChange): string {
  return JSON.stringify({ o: ownerId, ...change });
}

/** Notifies a change inside the caller's transaction. */
export async function notifyChange(
  q: Queryable,
  ownerId: string,
  change: StateChange,
): Promise<void> {
  await q.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, payloadOf(ownerId, change)]);
}

/**
 * SQL that notifies "this run's queue has a free slot" for the run of id `$runParam`, in the
 * statement's transaction (the queue read from the row itself).
 */
export function notifyRunEndedSql(channelParam: string, ownerParam: string, runParam: string) {
  return `SELECT pg_notify(${channelParam}, json_build_object('o', ${ownerParam}::text,
      'kind', 'queue', 'queue', queue)::text) FROM dag_runs WHERE id = ${runParam}`;
}

/** The listening connection's application_name (pg_stat_activity). */
export const LISTENER_NAME = 'dagu-ts listener';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

export class PgStateChanges implements StateChanges {
  private readonly listeners = new Set<(change: StateChange) => void>();
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private retryMs = FIRST_RETRY_MS;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly ownerId: string,
  ) {}

  subscribe(listener: (change: StateChange) => void): () => void {
    this.listeners.add(listener);
    if (!this.client && !this.retry && !this.closed) this.connect().catch(() => undefined);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: LISTENER_NAME });
    this.client = client;
    client.on('notification', (message) => this.deliver(message.payload));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch {
      this.lost(client);
      return;
    }
    if (this.client !== client) return;
    this.retryMs = FIRST_RETRY_MS;
    // Whatever changed before LISTEN took effect (or while the connection was down) was not
    // delivered: listeners look again.
    this.emit({ kind: 'resync' });
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.closed) this.connect().catch(() => undefined);
    }, this.retryMs);
    this.retry.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private deliver(payload: string | undefined): void {
    let message: {
      o?: unknown;
      kind?: unknown;
      queue?: unknown;
      name?: unknown;
      dagRunId?: unknown;
    };
    try {
      message = JSON.parse(payload ?? '') as typeof message;
    } catch {
      return;
    }
    if (message.o === this.ownerId) return;
    if (message.kind === 'queue')
      this.emit(
        typeof message.queue === 'string'
          ? { kind: 'queue', queue: message.queue }
          : { kind: 'queue' },
      );
    else if (
      message.kind === 'cancel' &&
      typeof message.name === 'string' &&
      typeof message.dagRunId === 'string'
    )
      this.emit({ kind: 'cancel', name: message.name, dagRunId: message.dagRunId });
  }

  private emit(change: StateChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch {
        // One listener's failure does not keep the change from the others.
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
