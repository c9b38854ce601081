// Test harness: the real API app (@dagu-ts/api) on an ephemeral loopback port, over a real
// SQLite store (@dagu-ts/store) in a temporary home and a real RunLauncher (@dagu-ts/core):
// runs are real child processes. The client under test only ever sees `baseUrl`.
import { once } from 'node:events';
import { createHmac } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createApiApp, type AuthOptions } from '@dagu-ts/api';
import { RunLauncher } from '@dagu-ts/core';
import { openStore, type Store } from '@dagu-ts/store';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

export interface TestServer {
  /** Server root, e.g. http://127.0.0.1:1234 (the client adds /api/v2). */
  baseUrl: string;
  port: number;
  home: string;
  store: Store;
  /** Writes a DAG file into the DAGs directory. */
  writeDag(fileName: string, yaml: string): void;
  close(): Promise<void>;
}

export interface TestServerOptions {
  auth?: AuthOptions;
  permissions?: { writeDAGs?: boolean; runDAGs?: boolean };
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const home = mkdtempSync(join(tmpdir(), 'dagu-client-'));
  const store = openStore({ home });
  for (const file of readdirSync(FIXTURES))
    copyFileSync(join(FIXTURES, file), join(store.paths.dagsDir, file));
  const launcher = new RunLauncher({
    runs: store.runs,
    queue: store.queue,
    cancels: store.cancels,
    logs: store.logs,
    sweepIntervalMs: 0,
  });
  const app = createApiApp({
    dags: store.dags,
    runs: store.runs,
    queue: store.queue,
    flags: store.flags,
    cancels: store.cancels,
    launcher,
    logs: store.logs,
    version: '9.9.9-client-test',
    log: () => undefined,
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.permissions ? { permissions: options.permissions } : {}),
  });
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    home,
    store,
    writeDag(fileName, yaml) {
      writeFileSync(join(store.paths.dagsDir, fileName), yaml);
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await launcher.close();
      app.apiRouter.close();
      store.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** An HS256 JWT signed with node:crypto (what `dagu-ts token create` hands out). */
export function signJwt(claims: Record<string, unknown>, secret: string): string {
  const encode = (value: unknown): string =>
    Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ iat: now, ...claims })}`;
  const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}
