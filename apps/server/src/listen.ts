// HTTP or HTTPS in front of a request handler, listening with errors a person can act on.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export class ListenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ListenError';
  }
}

/** An HTTPS server when certificate and key files are given, else plain HTTP. */
export function createServer(
  handler: RequestListener,
  tls?: { certFile: string; keyFile: string },
): Server {
  if (!tls) return createHttpServer(handler);
  try {
    return createHttpsServer(
      { cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) },
      handler,
    );
  } catch (error) {
    throw new ListenError(
      `invalid TLS certificate or key (${tls.certFile}, ${tls.keyFile}): ${(error as Error).message}`,
    );
  }
}

/** Resolves with the bound address (port 0 = any free port). */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const where = `${host}:${port}`;
      const reason =
        error.code === 'EADDRINUSE'
          ? 'the address is already in use'
          : error.code === 'EACCES'
            ? 'permission denied'
            : error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND'
              ? 'no such local address'
              : error.message;
      reject(new ListenError(`cannot listen on ${where}: ${reason}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** The base URL of a bound address, e.g. http://127.0.0.1:8080 or https://[::1]:8443. */
export function serverUrl(address: AddressInfo, tls: boolean): string {
  const host = address.address.includes(':') ? `[${address.address}]` : address.address;
  return `${tls ? 'https' : 'http'}://${host}:${address.port}`;
}

/** Stops accepting connections, drops idle keep-alive ones and resolves once all have ended. */
export function stopAccepting(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    if (!server.listening) resolve();
    else server.close(() => resolve());
  });
  server.closeIdleConnections();
  return closed;
}
