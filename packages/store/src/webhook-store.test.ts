import { rmSync } from 'node:fs';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DaguError, type Webhook } from '@dagu-ts/core';
import {
  storeAdapters,
  type ContractHandle,
  type ContractStore,
} from './test-fixtures/adapters.js';
import { tempDir } from './test-fixtures/helpers.js';

const work = tempDir('dagu-webhooks-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(storeAdapters.filter((adapter) => adapter.available))('$name store', (adapter) => {
  let handle: ContractHandle;
  let store: ContractStore;
  const opened: ContractStore[] = [];
  beforeEach(async () => {
    handle = await adapter.create(work);
    store = handle.store;
  });
  afterEach(async () => {
    for (const extra of opened.splice(0)) await extra.close();
    await handle.dispose();
  });

  const webhook = (dagName: string): Webhook => ({
    id: `id-${dagName}`,
    dagName,
    tokenHash: 'a'.repeat(64),
    tokenPrefix: 'dagu_wh_abcd',
    enabled: true,
    createdAt: '2024-01-01T00:00:00.000Z',
    updatedAt: '2024-01-01T00:00:00.000Z',
    lastUsedAt: undefined,
    createdBy: 'admin',
  });

  it('creates, reads, lists, updates and deletes webhooks, one per DAG, across reopen', async () => {
    await store.webhooks.create(webhook('b'));
    await store.webhooks.create(webhook('a'));
    const duplicate = await store.webhooks.create(webhook('a')).catch((error: unknown) => error);
    expect(duplicate).toBeInstanceOf(DaguError);
    expect((duplicate as DaguError).code).toBe('already_exists');
    expect((await store.webhooks.list()).map((w) => w.dagName)).toEqual(['a', 'b']);

    const updated = await store.webhooks.update('a', {
      enabled: false,
      tokenHash: 'b'.repeat(64),
      updatedAt: '2024-01-02T00:00:00.000Z',
    });
    expect(updated).toEqual({
      ...webhook('a'),
      enabled: false,
      tokenHash: 'b'.repeat(64),
      updatedAt: '2024-01-02T00:00:00.000Z',
    });
    expect(await store.webhooks.update('missing', { enabled: true })).toBeUndefined();

    // Another process on the same database sees the same webhooks.
    const other = await handle.open();
    opened.push(other);
    store = other;
    expect((await store.webhooks.get('a'))?.enabled).toBe(false);
    expect(await store.webhooks.delete('a')).toBe(true);
    expect(await store.webhooks.delete('a')).toBe(false);
    expect(await store.webhooks.get('a')).toBeUndefined();
    expect(await store.webhooks.get('b')).toEqual(webhook('b'));
  });
});
