// Per-DAG webhooks (Dagu v1.30), keyed by the DAG's canonical file name. Only the token's hash is
// stored; the API hashes and compares.
import { DaguError, type Webhook, type WebhookStore } from '@dagu-ts/core';
import type { Connection } from './connection.js';

/** A row of the webhooks table, as SQLite (enabled 0/1) and PostgreSQL (boolean) return it. */
export interface WebhookRow {
  dag_name: string;
  id: string;
  token_hash: string;
  token_prefix: string;
  enabled: number | boolean;
  created_at: string;
  updated_at: string;
  last_used_at: string | null;
  created_by: string | null;
}

export function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    dagName: row.dag_name,
    tokenHash: row.token_hash,
    tokenPrefix: row.token_prefix,
    enabled: row.enabled === 1 || row.enabled === true,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    lastUsedAt: row.last_used_at ?? undefined,
    createdBy: row.created_by ?? undefined,
  };
}

/** Columns a caller may change, by field name. */
export const WEBHOOK_COLUMNS = {
  tokenHash: 'token_hash',
  tokenPrefix: 'token_prefix',
  enabled: 'enabled',
  updatedAt: 'updated_at',
  lastUsedAt: 'last_used_at',
} as const;

export class SqliteWebhookStore implements WebhookStore {
  private readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  async get(dagName: string): Promise<Webhook | undefined> {
    const row = this.connection
      .prepare('SELECT * FROM webhooks WHERE dag_name = ?')
      .get(dagName) as WebhookRow | undefined;
    return row ? toWebhook(row) : undefined;
  }

  async list(): Promise<Webhook[]> {
    const rows = this.connection
      .prepare('SELECT * FROM webhooks ORDER BY dag_name')
      .all() as WebhookRow[];
    return rows.map(toWebhook);
  }

  async create(webhook: Webhook): Promise<void> {
    this.connection.write(() => {
      const inserted = this.connection
        .prepare(
          `INSERT INTO webhooks (dag_name, id, token_hash, token_prefix, enabled, created_at,
             updated_at, last_used_at, created_by)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (dag_name) DO NOTHING`,
        )
        .run(
          webhook.dagName,
          webhook.id,
          webhook.tokenHash,
          webhook.tokenPrefix,
          webhook.enabled ? 1 : 0,
          webhook.createdAt,
          webhook.updatedAt,
          webhook.lastUsedAt ?? null,
          webhook.createdBy ?? null,
        );
      if (inserted.changes === 0)
        throw new DaguError('already_exists', `webhook already exists for DAG ${webhook.dagName}`);
    });
  }

  async update(
    dagName: string,
    changes: Parameters<WebhookStore['update']>[1],
  ): Promise<Webhook | undefined> {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (entries.length > 0) {
      const assignments = entries
        .map(([field]) => `${WEBHOOK_COLUMNS[field as keyof typeof WEBHOOK_COLUMNS]} = ?`)
        .join(', ');
      const values = entries.map(([, value]) =>
        typeof value === 'boolean' ? (value ? 1 : 0) : value,
      );
      this.connection.write(() => {
        this.connection
          .prepare(`UPDATE webhooks SET ${assignments} WHERE dag_name = ?`)
          .run(...values, dagName);
      });
    }
    return this.get(dagName);
  }

  async delete(dagName: string): Promise<boolean> {
    let deleted = false;
    this.connection.write(() => {
      deleted =
        this.connection.prepare('DELETE FROM webhooks WHERE dag_name = ?').run(dagName).changes > 0;
    });
    return deleted;
  }
}
