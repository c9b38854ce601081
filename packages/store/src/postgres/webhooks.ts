// Per-DAG webhooks on PostgreSQL: the same rows and rules as the SQLite store (webhook-store.ts),
// so a token created through one server is accepted by every server on the database.
import { DaguError, type Webhook, type WebhookStore } from '@dagu-ts/core';
import { toWebhook, WEBHOOK_COLUMNS, type WebhookRow } from '../webhook-store.js';
import type { PgConnection } from './connection.js';

export class PgWebhookStore implements WebhookStore {
  constructor(private readonly db: PgConnection) {}

  async get(dagName: string): Promise<Webhook | undefined> {
    const { rows } = await this.db.query<WebhookRow>('SELECT * FROM webhooks WHERE dag_name = $1', [
      dagName,
    ]);
    return rows[0] ? toWebhook(rows[0]) : undefined;
  }

  async list(): Promise<Webhook[]> {
    const { rows } = await this.db.query<WebhookRow>('SELECT * FROM webhooks ORDER BY dag_name');
    return rows.map(toWebhook);
  }

  async create(webhook: Webhook): Promise<void> {
    const { rowCount } = await this.db.query(
      `INSERT INTO webhooks (dag_name, id, token_hash, token_prefix, enabled, created_at,
         updated_at, last_used_at, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (dag_name) DO NOTHING`,
      [
        webhook.dagName,
        webhook.id,
        webhook.tokenHash,
        webhook.tokenPrefix,
        webhook.enabled,
        webhook.createdAt,
        webhook.updatedAt,
        webhook.lastUsedAt ?? null,
        webhook.createdBy ?? null,
      ],
    );
    if (rowCount === 0)
      throw new DaguError('already_exists', `webhook already exists for DAG ${webhook.dagName}`);
  }

  async update(
    dagName: string,
    changes: Parameters<WebhookStore['update']>[1],
  ): Promise<Webhook | undefined> {
    const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return this.get(dagName);
    const assignments = entries
      .map(
        ([field], index) =>
          `${WEBHOOK_COLUMNS[field as keyof typeof WEBHOOK_COLUMNS]} = $${index + 1}`,
      )
      .join(', ');
    const { rows } = await this.db.query<WebhookRow>(
      `UPDATE webhooks SET ${assignments} WHERE dag_name = $${entries.length + 1} RETURNING *`,
      [...entries.map(([, value]) => value), dagName],
    );
    return rows[0] ? toWebhook(rows[0]) : undefined;
  }

  async delete(dagName: string): Promise<boolean> {
    const { rowCount } = await this.db.query('DELETE FROM webhooks WHERE dag_name = $1', [dagName]);
    return (rowCount ?? 0) > 0;
  }
}
