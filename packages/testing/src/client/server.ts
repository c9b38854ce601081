// Test harness: the real API app on an ephemeral loopback port, built by the server's own
// composition (@dagu-ts/server's composeDagu) over a real SQLite store in a temporary home and a
// real RunLauncher: runs are real child processes. The client under test only ever sees `baseUrl`.
import { once } from 'node:events';
import { createHmac } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuthOptions } from '@dagu-ts/api';
import { composeDagu, loadConfig } from '@dagu-ts/server';
import type { DaguStore as Store } from '@dagu-ts/server';

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
  const config = loadConfig({ env: { DAGU_HOME: home } });
  const dagu = await composeDagu(
    {
      ...config,
      auth: options.auth ?? {},
      permissions: { ...config.permissions, ...options.permissions },
    },
    { api: { version: '9.9.9-client-test', log: () => undefined }, sweepIntervalMs: 0 },
  );
  const { store } = dagu;
  const app = dagu.app!;
  for (const file of readdirSync(FIXTURES))
    copyFileSync(join(FIXTURES, file), join(store.paths.dagsDir, file));
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
      await dagu.close();
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
