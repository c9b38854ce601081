// End-to-end in a real browser: Debian's chromium driven by playwright-core against the BUILT
// server (apps/server/dist, serving apps/web/dist) on loopback with a temp home. Every wait is
// for a visible state, with generous timeouts; nothing asserts on timing. Screenshots of each
// page (light and dark, desktop and phone) go to apps/web/screenshots/ (gitignored).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const MAIN = fileURLToPath(new URL('../../../server/dist/main.js', import.meta.url));
const WEB_INDEX = fileURLToPath(new URL('../../dist/index.html', import.meta.url));
const SHOTS = fileURLToPath(new URL('../../screenshots/', import.meta.url));
const WAIT = { timeout: 30_000 };
/** Per test: generous, since `pnpm test` runs every project at once. */
const TEST_TIMEOUT = 150_000;
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 800 };
const JWT_SECRET = 'a-secret-for-the-browser-test';

interface Server {
  child: ChildProcess;
  url: string;
}

const homes: string[] = [];
const servers: Server[] = [];
let browser: Browser;

function signJwt(claims: Record<string, unknown>): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ iat: now, exp: now + 3600, ...claims })}`;
  return `${unsigned}.${createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url')}`;
}

function makeHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'dagu-web-e2e-'));
  homes.push(home);
  const dags = join(home, 'dags');
  mkdirSync(dags, { recursive: true });
  writeFileSync(
    join(dags, 'greet.yaml'),
    `description: Greets someone, then reports
tags: [demo]
params: NAME=world
steps:
  - name: hello
    command: echo "hello \${NAME}"
  - name: report
    command: echo "reported"
    depends: [hello]
`,
  );
  // The first attempt sleeps until stopped; the retry finds the flag and finishes at once.
  const flag = join(home, 'long.flag');
  writeFileSync(
    join(dags, 'long.yaml'),
    `description: Runs until stopped the first time
steps:
  - name: prepare
    command: echo preparing
  - name: wait
    command: sh -c 'echo waiting for the flag; test -f ${flag} || { touch ${flag}; sleep 120; }'
    depends: [prepare]
`,
  );
  writeFileSync(
    join(dags, 'pipeline.yaml'),
    `description: Extract, transform in parallel, load
tags: [demo]
steps:
  - name: extract
    command: echo extracting
  - name: transform-a
    command: echo transform a
    depends: [extract]
  - name: transform-b
    command: sh -c 'echo "bad row 17" >&2; exit 3'
    depends: [extract]
  - name: load
    command: echo loading
    depends: [transform-a, transform-b]
`,
  );
  writeFileSync(join(dags, 'broken.yaml'), 'steps: [\n  - name: oops\n');
  return home;
}

function startServer(home: string, env: Record<string, string> = {}): Promise<Server> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('DAGU_')),
  );
  const child = spawn(process.execPath, [MAIN, '--port', '0'], {
    env: { ...clean, DAGU_HOME: home, DAGU_SKIP_EXAMPLES: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /"msg":"listening","url":"([^"]+)"/.exec(buffered);
      if (match) {
        const server = { child, url: match[1]! };
        servers.push(server);
        resolve(server);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr}`)));
  });
}

async function newPage(
  context: BrowserContext | undefined,
  viewport = DESKTOP,
): Promise<{ page: Page; context: BrowserContext }> {
  const ctx = context ?? (await browser.newContext({ viewport }));
  const page = await ctx.newPage();
  return { page, context: ctx };
}

/** Saves the page in light and dark at its viewport. */
async function shoot(page: Page, name: string): Promise<void> {
  const size = (page.viewportSize()?.width ?? 0) < 600 ? 'phone' : 'desktop';
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.screenshot({ path: join(SHOTS, `${name}-${size}-${scheme}.png`), fullPage: true });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}

const ready = existsSync(CHROMIUM) && existsSync(MAIN) && existsSync(WEB_INDEX);
if (!ready)
  console.warn(`browser test skipped: needs ${CHROMIUM}, ${MAIN} and ${WEB_INDEX} (pnpm build)`);

describe.skipIf(!ready)('web UI in chromium', () => {
  let open: Server;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    [browser, open] = await Promise.all([
      chromium.launch({ executablePath: CHROMIUM, args: ARGS }),
      startServer(makeHome()),
    ]);
    // A failed run of the pipeline for the dashboard and the graph's colours.
    const started = await fetch(`${open.url}/api/v2/dags/pipeline/start`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(started.status).toBe(200);
  });

  afterAll(async () => {
    await browser?.close();
    for (const server of servers) server.child.kill('SIGKILL');
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it(
    'lists the DAGs, starts one with a parameter and reads its log',
    async () => {
      const { page, context } = await newPage(undefined);
      const preloadWarnings: string[] = [];
      page.on('console', (message) => {
        if (message.text().includes('preload')) preloadWarnings.push(message.text());
      });
      await page.goto(`${open.url}/dags`);
      await page.getByRole('link', { name: 'greet', exact: true }).waitFor(WAIT);
      await page.getByRole('link', { name: 'long', exact: true }).waitFor(WAIT);
      await page.getByText('could not be read').waitFor(WAIT);
      // The list came from the request index.html preloads (so it ran while the scripts
      // loaded): the first listing is the preload's, and the browser used it (it warns about
      // a preload it did not use: checked at the end of the test).
      const first = await page.evaluate(
        () =>
          (
            performance
              .getEntriesByType('resource')
              .find((entry) => entry.name.includes('/api/v2/dags')) as
              PerformanceResourceTiming | undefined
          )?.initiatorType,
      );
      expect(first).toBe('link');
      await shoot(page, 'dags');

      await page.getByRole('link', { name: 'greet', exact: true }).click();
      await page.getByRole('heading', { name: 'greet' }).waitFor(WAIT);
      await page.getByRole('button', { name: 'Start…' }).click();
      const params = page.getByLabel('Parameters');
      expect(await params.inputValue()).toContain('NAME');
      await params.fill('NAME=playwright');
      await page.getByRole('button', { name: 'Start run' }).click();

      // The run page: wait for the run to finish, then read the first step's log.
      await page.locator('.page-head .badge', { hasText: 'finished' }).waitFor(WAIT);
      await page.getByRole('button', { name: /Step hello, finished/ }).click();
      await page.getByTestId('log-content').getByText('hello playwright').waitFor(WAIT);
      await shoot(page, 'run');

      // Back on the DAG page, the graph shows the latest run's statuses.
      await page.getByRole('link', { name: 'greet', exact: true }).click();
      await page.locator('[data-step="report"][data-status="finished"]').waitFor(WAIT);
      await page
        .getByRole('link', { name: /^[0-9a-f-]{13}…$/ })
        .first()
        .waitFor(WAIT);
      await shoot(page, 'dag');
      expect(preloadWarnings).toEqual([]);
      await context.close();
    },
    TEST_TIMEOUT,
  );

  it(
    'stops a long run and retries it',
    async () => {
      const { page, context } = await newPage(undefined);
      await page.goto(`${open.url}/dags/long`);
      await page.getByRole('button', { name: 'Start…' }).click();
      await page.getByRole('button', { name: 'Start run' }).click();
      await page.getByRole('button', { name: /Step wait, running/ }).waitFor(WAIT);
      await page.getByRole('button', { name: /Step wait, running/ }).click();
      await page.getByText('● live').waitFor(WAIT);
      // The live tail shows the step's output while it still runs.
      await page.getByTestId('log-content').getByText('waiting for the flag').waitFor(WAIT);
      await page.getByRole('button', { name: 'Stop run' }).click();
      await page.locator('.page-head .badge', { hasText: 'canceled' }).waitFor(WAIT);
      await page.getByRole('button', { name: 'Retry run' }).click();
      await page.locator('.page-head .badge', { hasText: 'finished' }).waitFor(WAIT);
      await page.getByRole('button', { name: /Step wait, finished/ }).waitFor(WAIT);
      await context.close();
    },
    TEST_TIMEOUT,
  );

  it(
    'shows a validation error in the spec editor, then saves a fix',
    async () => {
      const { page, context } = await newPage(undefined);
      await page.goto(`${open.url}/dags/greet/spec`);
      const editor = page.getByLabel('DAG spec (YAML)');
      await expect.poll(() => editor.inputValue(), WAIT).toContain('name: hello');
      const good = await editor.inputValue();
      // A YAML syntax error is shown at its line while typing, before any save.
      await editor.fill(good.replace('command: echo "reported"', 'command: "reported'));
      const specErrors = page.getByRole('status', { name: 'Spec errors' });
      await specErrors.waitFor(WAIT);
      expect(await specErrors.textContent()).toMatch(/line \d+: .*quote/i);
      await page.locator('.gutter .bad').first().waitFor(WAIT);
      await shoot(page, 'spec-typing');
      // What the DAG means is checked by the server's validate endpoint while typing too.
      await editor.fill(good.replace('depends: [hello]', 'depends: [nowhere]'));
      await expect.poll(() => specErrors.textContent(), WAIT).toContain('nowhere');
      await editor.fill(good);
      await specErrors.waitFor({ state: 'detached', ...WAIT });
      await editor.fill(good.replace('depends: [hello]', 'depends: [nowhere]'));
      await specErrors.waitFor(WAIT);
      await page.getByRole('button', { name: 'Save spec' }).click();
      await page.getByRole('alert', { name: 'Validation errors' }).waitFor(WAIT);
      expect(await page.getByRole('alert', { name: 'Validation errors' }).textContent()).toContain(
        'nowhere',
      );
      await shoot(page, 'spec-error');
      await editor.fill(good.replace('echo "reported"', 'echo "reported again"'));
      await page.getByRole('button', { name: 'Save spec' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor(WAIT);
      expect(await page.getByRole('alert', { name: 'Validation errors' }).count()).toBe(0);
      await page.reload();
      await expect.poll(() => editor.inputValue(), WAIT).toContain('reported again');
      await context.close();
    },
    TEST_TIMEOUT,
  );

  it(
    'renders the dashboard and search, and every page at phone width',
    async () => {
      const desktop = await newPage(undefined);
      await desktop.page.goto(`${open.url}/`);
      await desktop.page.getByRole('heading', { name: 'Recent runs' }).waitFor(WAIT);
      await desktop.page.getByRole('link', { name: 'greet' }).first().waitFor(WAIT);
      // The timeline: a lane per DAG, a bar per run linking to it.
      const lanes = desktop.page.getByRole('list', { name: 'Runs of the last 24 hours by DAG' });
      await lanes
        .getByRole('link', { name: /^pipeline failed, started/ })
        .first()
        .waitFor(WAIT);
      await shoot(desktop.page, 'dashboard');
      await desktop.page.goto(`${open.url}/search?q=echo`);
      await desktop.page.locator('.snippet').first().waitFor(WAIT);
      await shoot(desktop.page, 'search');
      await desktop.page.goto(`${open.url}/dags/pipeline`);
      await desktop.page.locator('[data-step="transform-b"][data-status="failed"]').waitFor(WAIT);
      await shoot(desktop.page, 'pipeline');
      await desktop.context.close();

      const phone = await newPage(undefined, PHONE);
      await phone.page.goto(`${open.url}/dags`);
      await phone.page.getByRole('link', { name: 'greet', exact: true }).waitFor(WAIT);
      await shoot(phone.page, 'dags');
      await phone.page.getByRole('link', { name: 'greet', exact: true }).click();
      await phone.page.locator('[data-step="report"]').waitFor(WAIT);
      await shoot(phone.page, 'dag');
      await phone.page
        .getByRole('link', { name: /^[0-9a-f-]{13}…$/ })
        .first()
        .click();
      await phone.page.getByRole('heading', { name: 'Steps' }).waitFor(WAIT);
      await phone.page.getByRole('button', { name: /Step hello/ }).click();
      await phone.page.getByTestId('log-content').getByText(/hello/).waitFor(WAIT);
      await shoot(phone.page, 'run');
      await phone.page.goto(`${open.url}/`);
      await phone.page.getByRole('heading', { name: 'Recent runs' }).waitFor(WAIT);
      await shoot(phone.page, 'dashboard');
      await phone.context.close();
    },
    TEST_TIMEOUT,
  );

  it(
    'asks for credentials under a base path; a viewer sees no start button',
    async () => {
      const secured = await startServer(makeHome(), {
        DAGU_AUTH_BASIC_USERNAME: 'admin',
        DAGU_AUTH_BASIC_PASSWORD: 'secret',
        DAGU_AUTH_JWT_SECRET: JWT_SECRET,
        DAGU_BASE_PATH: '/dagu',
      });

      // A deep link under the base path loads the UI, which asks for credentials.
      const admin = await newPage(undefined);
      await admin.page.goto(`${secured.url}/dagu/dags/greet`);
      await admin.page.getByRole('heading', { name: 'Sign in' }).waitFor(WAIT);
      await shoot(admin.page, 'login');
      await admin.page.getByLabel('Username').fill('admin');
      await admin.page.getByLabel('Password').fill('wrong');
      await admin.page.getByRole('button', { name: 'Sign in' }).click();
      await admin.page.getByText('Wrong credentials.').waitFor(WAIT);
      await admin.page.getByLabel('Password').fill('secret');
      await admin.page.getByRole('button', { name: 'Sign in' }).click();
      await admin.page.getByRole('button', { name: 'Start…' }).waitFor(WAIT);
      await admin.page.getByRole('link', { name: 'DAGs', exact: true }).click();
      await admin.page.getByRole('link', { name: 'long', exact: true }).waitFor(WAIT);
      expect(new URL(admin.page.url()).pathname).toBe('/dagu/dags');
      await admin.context.close();

      const viewer = await newPage(undefined);
      await viewer.page.goto(`${secured.url}/dagu/dags/greet`);
      await viewer.page.getByRole('button', { name: 'Token' }).click();
      await viewer.page.getByLabel(/Token/).fill(signJwt({ sub: 'eve', role: 'viewer' }));
      await viewer.page.getByRole('button', { name: 'Sign in' }).click();
      await viewer.page.locator('[data-step="report"]').waitFor(WAIT);
      await viewer.page.getByRole('heading', { name: 'Run history' }).waitFor(WAIT);
      expect(await viewer.page.getByRole('button', { name: 'Start…' }).count()).toBe(0);
      expect(await viewer.page.getByRole('button', { name: /Suspend|Delete|Rename/ }).count()).toBe(
        0,
      );
      await viewer.page.getByRole('link', { name: 'Spec' }).click();
      await expect
        .poll(() => viewer.page.getByLabel('DAG spec (YAML)').inputValue(), WAIT)
        .toContain('hello');
      expect(await viewer.page.getByRole('button', { name: 'Save spec' }).count()).toBe(0);
      await viewer.page.getByRole('link', { name: 'DAGs', exact: true }).click();
      await viewer.page.getByRole('link', { name: 'long', exact: true }).waitFor(WAIT);
      expect(await viewer.page.getByRole('button', { name: 'New DAG' }).count()).toBe(0);
      await viewer.context.close();
    },
    TEST_TIMEOUT,
  );

  it(
    'hides the run buttons from an admin when the server switches runs off',
    async () => {
      const noRuns = await startServer(makeHome(), { DAGU_PERMISSIONS_RUN_DAGS: 'false' });
      const { page, context } = await newPage(undefined);
      await page.goto(`${noRuns.url}/dags/greet`);
      await page.locator('[data-step="report"]').waitFor(WAIT);
      await page.getByRole('heading', { name: 'Run history' }).waitFor(WAIT);
      // Writing is still on: the file buttons stay, the run buttons go.
      await page.getByRole('button', { name: 'Rename' }).waitFor(WAIT);
      expect(await page.getByRole('button', { name: /Start|Suspend|Retry|Stop/ }).count()).toBe(0);
      await page.getByRole('link', { name: 'DAGs', exact: true }).click();
      await page.getByRole('button', { name: 'New DAG' }).waitFor(WAIT);
      await context.close();
    },
    TEST_TIMEOUT,
  );
});
