// Watching a running step: its log is readable through the API while the step still runs.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from '@dagu-ts/testing';

let api: TestApi;
beforeAll(async () => {
  api = await startApi({ fixtures: [] });
  // The step prints a line, then waits for a file the test creates: no timing assumption.
  writeFileSync(
    join(api.store.paths.dagsDir, 'ticker.yaml'),
    [
      'params: [GATE]',
      'steps:',
      '  - name: tick',
      '    command: sh -c \'echo first; echo second; while [ ! -e "$GATE" ]; do sleep 0.05; done; echo last\'',
      '',
    ].join('\n'),
  );
});
afterAll(async () => {
  await api.close();
});

describe('GET /dag-runs/{name}/{id}/steps/{step}/log of a running step', () => {
  it('serves the lines written so far, then the whole log once the step ends', async () => {
    const gate = join(api.store.paths.dagsDir, '..', 'gate');
    const started = await api.call('POST', '/dags/ticker/start', {
      json: { params: JSON.stringify({ GATE: gate }) },
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const id = started.body.dagRunId as string;
    const path = `/dag-runs/ticker/${id}/steps/tick/log`;

    let content = '';
    await api.waitUntil(async () => {
      const response = await api.call('GET', path);
      content = response.status === 200 ? (response.body.content as string) : '';
      return content.includes('second');
    }, 20_000);
    expect(content).toBe('first\nsecond');
    const details = await api.call('GET', `/dag-runs/ticker/${id}`);
    const node = details.body.dagRunDetails.nodes[0];
    expect(node.status).toBe(1);
    expect(node.stdout).toMatch(/tick.*\.out$/);

    writeFileSync(gate, '');
    await api.waitForRun('ticker', id);
    const finished = await api.call('GET', path);
    expect(finished.body.content).toBe('first\nsecond\nlast');
  });
});
