// The web UI handler on a temp dist directory: files, index.html for pages (with the base path
// written in), and everything else left to the API.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebUi, renderIndex, type WebUiSettings } from './web-ui.js';

const INDEX = `<!doctype html><html><head><meta name="dagu-base-path" content="" />
<meta name="dagu-config" content="{}" />
<link rel="icon" href="./favicon.svg" /><script type="module" src="./assets/app.js"></script>
</head><body></body></html>`;

let root: string;
let server: Server | undefined;

afterEach(() => {
  server?.close();
  server = undefined;
  rmSync(root, { recursive: true, force: true });
  rmSync(join(tmpdir(), 'dagu-web-ui-secret.txt'), { force: true });
});

async function serve(basePath: string, settings: WebUiSettings = {}): Promise<string> {
  root = mkdtempSync(join(tmpdir(), 'dagu-web-ui-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), INDEX);
  writeFileSync(
    join(root, 'assets', 'app.js'),
    `console.log(${JSON.stringify('x'.repeat(4000))});`,
  );
  writeFileSync(join(root, 'favicon.svg'), '<svg/>');
  writeFileSync(join(tmpdir(), 'dagu-web-ui-secret.txt'), 'secret');
  const ui = createWebUi({ root, basePath, ...settings });
  server = createServer((req, res) => {
    if (!ui(req, res)) res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"api":1}');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
}

const html = { Accept: 'text/html,application/xhtml+xml' };

describe('web UI handler', () => {
  it('serves files, and index.html for pages a browser asks for', async () => {
    const url = await serve('');
    const asset = await fetch(`${url}/assets/app.js`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-encoding')).toBe('gzip');
    for (const page of ['/', '/dags/deploy', '/runs/a/b?step=c']) {
      const answer = await fetch(`${url}${page}`, { headers: html });
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
      expect(answer.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
      expect(await answer.text()).toContain('src="/assets/app.js"');
    }
  });

  it('leaves the API, missing files and non-GET requests to the API', async () => {
    const url = await serve('');
    for (const [path, init] of [
      ['/api/v2/dags', { headers: html }],
      ['/missing.js', {}],
      ['/dags/deploy', { headers: { Accept: 'application/json' } }],
      ['/', { method: 'POST', headers: html }],
      ['/..%2f..%2fdagu-web-ui-secret.txt', { headers: html }],
    ] as const) {
      const answer = await fetch(`${url}${path}`, init);
      expect(answer.status, path).toBe(404);
      expect(await answer.json()).toEqual({ api: 1 });
    }
  });

  it('serves under the base path only, with the base path written into index.html', async () => {
    const url = await serve('/dagu/');
    const page = await fetch(`${url}/dagu/dags/x`, { headers: html });
    const text = await page.text();
    expect(text).toContain('<meta name="dagu-base-path" content="/dagu"');
    expect(text).toContain('src="/dagu/assets/app.js"');
    expect(text).toContain('href="/dagu/favicon.svg"');
    expect((await fetch(`${url}/dagu`, { headers: html })).status).toBe(200);
    expect((await fetch(`${url}/dagu/assets/app.js`)).status).toBe(200);
    expect((await fetch(`${url}/dags/x`, { headers: html })).status).toBe(404);
    expect((await fetch(`${url}/dagu/api/v2/dags`, { headers: html })).status).toBe(404);
  });

  it('writes the permission switches into the page, so the UI hides what the server refuses', async () => {
    const config = (text: string) =>
      JSON.parse(
        /<meta name="dagu-config" content="([^"]*)"/
          .exec(text)![1]!
          .replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code))),
      ) as unknown;
    const open = await fetch(`${await serve('')}/dags`, { headers: html });
    expect(config(await open.text())).toEqual({
      permissions: { writeDAGs: true, runDAGs: true },
      auth: false,
    });
    server?.close();
    rmSync(root, { recursive: true, force: true });
    const locked = await serve('', { permissions: { runDAGs: false } });
    expect(config(await (await fetch(`${locked}/`, { headers: html })).text())).toEqual({
      permissions: { writeDAGs: true, runDAGs: false },
      auth: false,
    });
  });

  it('preloads the first request of the DAG list page, only on that page and only without auth', async () => {
    const preload = '<link rel="preload" href="/dagu/api/v2/dags?page=1&#38;perPage=50"';
    const url = await serve('/dagu');
    const text = async (page: string) => (await fetch(`${url}${page}`, { headers: html })).text();
    expect(await text('/dagu/dags')).toContain(preload);
    for (const page of ['/dagu/', '/dagu/dags?name=x', '/dagu/dags/x'])
      expect(await text(page), page).not.toContain('rel="preload"');
    server?.close();
    rmSync(root, { recursive: true, force: true });
    const withAuth = await serve('/dagu', { auth: true });
    expect(await (await fetch(`${withAuth}/dagu/dags`, { headers: html })).text()).not.toContain(
      'rel="preload"',
    );
  });

  it('escapes the base path it writes into the page', () => {
    expect(renderIndex('<meta name="dagu-base-path" content="" />', '/a"<b')).toBe(
      '<meta name="dagu-base-path" content="/a&#34;&#60;b" />',
    );
  });
});
