// The web UI (apps/web's built files) at `<basePath>/`, next to the API at `<basePath>/api/v2`:
// files by path, and index.html for any other page a browser asks for (deep links work on
// reload). index.html gets the base path written in, so one build serves under any prefix, and
// the settings the UI needs before its first request (the permission switches, so it hides the
// buttons the server would refuse; Dagu's UI gets its config injected into index.html too).
// GET and HEAD only; API paths and requests that do not accept HTML are left to the API.
import { existsSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.txt']);

const HTML_HEADERS = {
  'Cache-Control': 'no-cache',
  'Content-Security-Policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'Referrer-Policy': 'same-origin',
};

/** The built UI: `@dagu-ts/web`'s dist directory, or undefined when it was not built. */
export function findWebRoot(): string | undefined {
  const candidates: string[] = [];
  try {
    const pkg = createRequire(import.meta.url).resolve('@dagu-ts/web/package.json');
    candidates.push(join(dirname(pkg), 'dist'));
  } catch {
    // not installed next to the server
  }
  candidates.push(fileURLToPath(new URL('../../web/dist', import.meta.url)));
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

function escapeHtml(text: string): string {
  return text.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What the UI learns from index.html: the permission switches (api-v2.md §1.5), auth or not. */
export interface WebUiSettings {
  permissions?: { writeDAGs?: boolean; runDAGs?: boolean };
  /**
   * Whether the API asks for credentials. Without, the DAG list page's first request is
   * preloaded from index.html, so it runs while the scripts load (a preload carries no
   * credentials: with auth it would only be a wasted 401), and the UI's requests use the
   * browser's credentials mode `same-origin`, the preload's, so that the page's request takes
   * the preloaded answer.
   */
  auth?: boolean;
}

/**
 * The first request of the DAG list page (`/dags` with no filter), exactly as the UI sends it
 * (apps/web's DagListPage: page 1, 50 per page); the browser test checks that it is used.
 */
export const DAG_LIST_PRELOAD = '/api/v2/dags?page=1&perPage=50';

/** index.html with a preload of the DAG list's first request (see WebUiSettings.auth). */
function withDagListPreload(html: string, prefix: string): string {
  const link = `<link rel="preload" href="${escapeHtml(prefix + DAG_LIST_PRELOAD)}" as="fetch" crossorigin="anonymous" />`;
  return html.replace('</head>', `    ${link}\n  </head>`);
}

/** index.html with the base path in its meta tag and asset URLs, and the UI's settings. */
export function renderIndex(html: string, prefix: string, settings: WebUiSettings = {}): string {
  const base = escapeHtml(prefix);
  const config = escapeHtml(
    JSON.stringify({
      permissions: {
        writeDAGs: settings.permissions?.writeDAGs !== false,
        runDAGs: settings.permissions?.runDAGs !== false,
      },
      auth: settings.auth === true,
    }),
  );
  return html
    .replace(/(<meta name="dagu-base-path" content=")[^"]*"/, `$1${base}"`)
    .replace(/(<meta name="dagu-config" content=")[^"]*"/, `$1${config}"`)
    .replace(/(\s(?:src|href)=")\.\//g, `$1${base}/`);
}

/** `dagu/` → `/dagu`, `` → ``. */
function prefixOf(basePath: string): string {
  const trimmed = basePath.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `/${trimmed}`;
}

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  type: string;
}

/** A request handler that answers with the UI and returns true, or returns false. */
export function createWebUi(
  options: {
    root: string;
    basePath: string;
  } & WebUiSettings,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const root = normalize(options.root);
  const prefix = prefixOf(options.basePath);
  const cache = new Map<string, Asset>();
  /** The asset cached as `key` (a file, or a variant of one): `file`, transformed. */
  const load = (key: string, file: string, transform?: (text: string) => string): Asset => {
    let asset = cache.get(key);
    if (!asset) {
      const ext = extname(file);
      const raw = readFileSync(file);
      const body = transform ? Buffer.from(transform(raw.toString('utf8'))) : raw;
      asset = { body, type: TYPES[ext] ?? 'application/octet-stream' };
      if (COMPRESSIBLE.has(ext) && body.length > 1024) asset.gzip = gzipSync(body);
      cache.set(key, asset);
    }
    return asset;
  };

  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    asset: Asset,
    headers: Record<string, string>,
  ) => {
    const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? asset.gzip! : asset.body;
    res.writeHead(200, {
      'Content-Type': asset.type,
      'Content-Length': String(body.length),
      'X-Content-Type-Options': 'nosniff',
      ...(asset.gzip ? { Vary: 'Accept-Encoding' } : {}),
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://ui').pathname);
    } catch {
      return false;
    }
    if (pathname.includes('\0')) return false;
    if (pathname !== prefix && !pathname.startsWith(`${prefix}/`)) return false;
    const rel = pathname.slice(prefix.length) || '/';
    if (rel === '/api' || rel.startsWith('/api/')) return false;

    if (rel !== '/' && rel !== '/index.html') {
      const file = normalize(join(root, rel));
      if (!file.startsWith(root + sep)) return false;
      let isFile = false;
      try {
        isFile = statSync(file).isFile();
      } catch {
        // not a file: maybe a page
      }
      if (isFile) {
        const immutable = rel.startsWith('/assets/');
        send(req, res, load(file, file), {
          'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
        return true;
      }
      // A page (deep link) when the browser asks for HTML; anything else is the API's 404.
      if (!String(req.headers.accept ?? '').includes('text/html')) return false;
    }
    const index = join(root, 'index.html');
    const dagList = rel === '/dags' && !options.auth && !req.url?.includes('?');
    send(
      req,
      res,
      dagList
        ? load(`${index}#dags`, index, (html) =>
            withDagListPreload(renderIndex(html, prefix, options), prefix),
          )
        : load(index, index, (html) => renderIndex(html, prefix, options)),
      HTML_HEADERS,
    );
    return true;
  };
}
