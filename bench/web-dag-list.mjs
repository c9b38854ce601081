// The web UI's DAG list with 5,000 DAG files: the built server (apps/server/dist, serving
// apps/web/dist) on a temp home, Debian's chromium via playwright-core. Times from navigation
// to the first page of rows on screen: cold (first listing after start-up), then warm.
// `SERVER_MAIN=path/to/main.js` measures another build of the server (a before/after).
// Needs `pnpm build` and /usr/bin/chromium; prints a skip line otherwise.
/* global window, document, MutationObserver -- the functions passed to page.evaluate run in the page */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COUNT = Number(process.env.DAG_COUNT ?? 5000);
const CHROMIUM = '/usr/bin/chromium';
const MAIN =
  process.env.SERVER_MAIN ?? fileURLToPath(new URL('../apps/server/dist/main.js', import.meta.url));
const WEB = fileURLToPath(new URL('../apps/web/dist/index.html', import.meta.url));

if (!existsSync(CHROMIUM) || !existsSync(MAIN) || !existsSync(WEB)) {
  console.log(`skipped: needs ${CHROMIUM} and the built server and web UI (pnpm build)`);
  process.exit(0);
}
const { chromium } = createRequire(new URL('../apps/web/package.json', import.meta.url))(
  'playwright-core',
);

const home = mkdtempSync(join(tmpdir(), 'dagu-bench-web-'));
mkdirSync(join(home, 'dags'));
for (let i = 0; i < COUNT; i++)
  writeFileSync(
    join(home, 'dags', `dag-${String(i).padStart(5, '0')}.yaml`),
    `description: benchmark DAG ${i}\ntags: [bench, group-${i % 10}]\nschedule: "${i % 60} * * * *"\nsteps:\n  - name: a\n    command: echo a\n  - name: b\n    command: echo b\n    depends: [a]\n`,
  );

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DAGU_')));
const server = spawn(process.execPath, [MAIN, '--port', '0'], {
  env: { ...env, DAGU_HOME: home, DAGU_SKIP_EXAMPLES: 'true' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const url = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (chunk) => {
    text += chunk;
    const found = /"msg":"listening","url":"([^"]+)"/.exec(text);
    if (found) resolve(found[1]);
  });
  server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
});

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
const rows = [];
try {
  let page;
  const measure = async (label, path, files = COUNT) => {
    const started = performance.now();
    await page.goto(`${url}${path}`);
    await page.getByText(`${files} files`, { exact: true }).waitFor({ timeout: 60_000 });
    await page.locator('.dag-table tbody tr').first().waitFor({ timeout: 60_000 });
    const ms = Math.round(performance.now() - started);
    // Where the time went, from the page's own clock (its navigation start is 0): the rows'
    // first appearance as the page saw it (the `ms` column adds the test driver's round trips).
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const apis = performance
        .getEntriesByType('resource')
        .filter((entry) => entry.name.includes('/api/v2/dags'));
      const api = apis[0];
      return {
        rowsAt: Math.round(window.__rowsAt ?? 0),
        scriptsDone: Math.round(nav?.domContentLoadedEventEnd ?? 0),
        apiStart: Math.round(api?.startTime ?? 0),
        api: Math.round(api ? api.responseEnd - api.startTime : 0),
        preloaded: api?.initiatorType === 'link',
        requests: apis.length,
      };
    });
    rows.push({
      case: label,
      ms,
      'in page: rows at': timing.rowsAt,
      'DOM ready': timing.scriptsDone,
      'API request at': timing.apiStart,
      'API took': timing.api,
      'API requests': `${timing.requests}${timing.preloaded ? ' (preloaded)' : ''}`,
    });
  };
  const viewport = { width: 1280, height: 800 };
  const newPage = async () => {
    const context = await browser.newContext({ viewport });
    // Notes when the first DAG row is in the document, on the page's clock.
    await context.addInitScript(() => {
      new MutationObserver((_, observer) => {
        if (document.querySelector('.dag-table tbody tr')) {
          window.__rowsAt = performance.now();
          observer.disconnect();
        }
      }).observe(document, { childList: true, subtree: true });
    });
    return context.newPage();
  };
  page = await newPage();
  // The browser itself warms up on a static file (not the UI), as a user's browser is running.
  await page.goto(`${url}/favicon.svg`);
  await measure('server just started (parses the files), empty browser cache', '/dags');
  for (let i = 1; i <= 3; i++) {
    const started = performance.now();
    const answer = await fetch(`${url}/api/v2/dags?perPage=50`);
    await answer.json();
    rows.push({
      case: `API alone: GET /dags?perPage=50 #${i}`,
      ms: Math.round(performance.now() - started),
    });
  }
  page = await newPage();
  await measure('empty browser cache (new context)', '/dags');
  for (let i = 1; i <= 3; i++) await measure(`reload #${i}`, '/dags');
  await measure('page 50 (deep link)', '/dags?page=50');
  await measure(
    'filter by name (1/5 match)',
    '/dags?name=dag-04',
    Math.max(0, Math.min(1000, COUNT - 4000)),
  );
} finally {
  await browser.close();
  server.kill('SIGTERM');
  rmSync(home, { recursive: true, force: true });
}
console.log(`DAG list in the web UI, ${COUNT} DAG files (navigation → first rows visible)`);
console.table(rows);
