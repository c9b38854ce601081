// DAG files a user or another process can put in front of the server (issue #11 items 5, 7 and
// 9, issue #12): YAML that costs too much to parse, names the API cannot address, symbolic links
// out of the DAGs directory, and files whose steps are not YAML. Real server, loopback only.
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from '@dagu-ts/testing';

let api: TestApi;
beforeAll(async () => {
  api = await startApi({ fixtures: [] });
});
afterAll(async () => {
  await api.close();
});

const dagsDir = () => api.store.paths.dagsDir;

/** A DAG whose `otel:` anchors a map of `keys` keys that `merges` steps merge into their env. */
function mergeKeySpec(keys: number, merges: number): string {
  const lines = ['otel: &a', ...Array.from({ length: keys }, (_, i) => `  key${i}: value${i}`)];
  lines.push('steps:');
  for (let i = 0; i < merges; i++)
    lines.push(`  - name: s${i}`, '    command: echo', '    env:', '      <<: *a');
  return `${lines.join('\n')}\n`;
}

/**
 * Runs `work` while asking GET /health in a loop; returns the slowest answer in ms. The client
 * shares the server's event loop, so a blocked loop shows as a slow answer.
 */
async function healthLatencyDuring(work: () => Promise<void>): Promise<number> {
  let done = false;
  let slowest = 0;
  const poll = (async () => {
    while (!done) {
      const started = performance.now();
      const { status } = await api.call('GET', '/health');
      expect(status).toBe(200);
      slowest = Math.max(slowest, performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    await work();
  } finally {
    done = true;
    await poll;
  }
  return slowest;
}

describe('YAML cost (issue #11 item 5)', () => {
  // Generous bounds for a busy 2-core machine; before the fix the 1 MiB spec took minutes.
  const BUDGET_MS = 1000;

  it('refuses a 1 MiB merge-key spec at once while /health stays responsive', async () => {
    const spec = mergeKeySpec(44_000, 4);
    // As large as the 1 MiB request body limit allows.
    expect(spec.length).toBeGreaterThan(960 * 1024);
    expect(JSON.stringify({ spec }).length).toBeLessThan(1024 * 1024);
    expect((await api.call('POST', '/dags', { json: { name: 'merge-big' } })).status).toBe(201);
    let putMs = 0;
    const slowest = await healthLatencyDuring(async () => {
      const started = performance.now();
      const put = await api.call('PUT', '/dags/merge-big/spec', { json: { spec } });
      putMs = performance.now() - started;
      expect(put.status).toBe(200);
      expect(put.body.errors).toEqual([expect.stringMatching(/DAG text is too large/)]);
      const post = await api.call('POST', '/dags', { json: { name: 'merge-big-2', spec } });
      expect(post.status).toBe(400);
      expect(post.body.message).toMatch(/DAG text is too large/);
    });
    expect(putMs, `PUT took ${putMs} ms`).toBeLessThan(BUDGET_MS);
    expect(slowest, `slowest /health ${slowest} ms`).toBeLessThan(BUDGET_MS);
  });

  it('a merge key bomb is refused quickly; a valid merge-key DAG is parsed once', async () => {
    expect((await api.call('POST', '/dags', { json: { name: 'merge-ok' } })).status).toBe(201);
    const bomb = mergeKeySpec(3000, 60);
    const valid = mergeKeySpec(3000, 2);
    const slowest = await healthLatencyDuring(async () => {
      const refused = await api.call('PUT', '/dags/merge-ok/spec', { json: { spec: bomb } });
      expect(refused.body.errors).toEqual([
        expect.stringMatching(/YAML aliases and merge keys expand to too many nodes/),
      ]);
      const put = await api.call('PUT', '/dags/merge-ok/spec', { json: { spec: valid } });
      expect(put.body.errors).toEqual([]);
      for (let i = 0; i < 3; i++) {
        const details = await api.call('GET', '/dags/merge-ok');
        expect(details.status).toBe(200);
        expect(details.body.dag.steps).toHaveLength(2);
      }
    });
    expect(slowest, `slowest /health ${slowest} ms`).toBeLessThan(BUDGET_MS);
  });
});

describe('DAG names (issue #11 item 7)', () => {
  it('refuses a spec whose name the API could not address', async () => {
    const spec = 'name: "../../../../tmp/x/dagesc"\nsteps:\n  - name: a\n    command: echo hi\n';
    const { status, body } = await api.call('POST', '/dags', { json: { name: 'esc', spec } });
    expect(status).toBe(400);
    expect(body.details.errors).toEqual([
      expect.stringContaining(
        'invalid DAG name "../../../../tmp/x/dagesc": it contains a path separator',
      ),
    ]);
    expect((await api.call('GET', '/dags/esc')).status).toBe(404);
  });
});

describe('symbolic links in the DAGs directory (issue #11 item 9)', () => {
  it('a link out of the directory is neither listed nor served; one inside works', async () => {
    const secret = join(dagsDir(), '..', 'secret.txt');
    writeFileSync(secret, 'root:x:0:0:root:/root:/bin/sh\n');
    symlinkSync(secret, join(dagsDir(), 'passwd.yaml'));
    writeFileSync(join(dagsDir(), 'inner.yaml'), 'steps:\n  - command: echo hi\n');
    symlinkSync('inner.yaml', join(dagsDir(), 'inner-link.yaml'));

    const list = await api.call('GET', '/dags?perPage=100');
    const names = list.body.dags.map((d: { fileName: string }) => d.fileName);
    expect(names).not.toContain('passwd');
    expect(names).toContain('inner-link');
    for (const path of ['/dags/passwd/spec', '/dags/passwd']) {
      const { status, text } = await api.call('GET', path);
      expect(status).toBe(400);
      expect(text).toContain('symbolic link that leaves the DAGs directory');
      expect(text).not.toContain('root:x');
    }
    const put = await api.call('PUT', '/dags/passwd/spec', { json: { spec: 'steps: []\n' } });
    expect(put.status).toBe(400);
    expect((await api.call('GET', '/dags/inner-link/spec')).body.spec).toContain('echo hi');
  });
});

describe('listing a file whose steps are not YAML (issue #12)', () => {
  it('puts it in errors, not in dags', async () => {
    writeFileSync(
      join(dagsDir(), 'zz-steps-broken.yaml'),
      'description: looks fine\nsteps:\n  - name: a\n    command: [unclosed\n',
    );
    const { body } = await api.call('GET', '/dags?perPage=100');
    expect(body.dags.map((d: { fileName: string }) => d.fileName)).not.toContain('zz-steps-broken');
    expect(body.errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/^reading zz-steps-broken failed: /)]),
    );
  });
});
