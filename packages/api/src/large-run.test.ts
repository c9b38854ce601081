// A run of 1,000 steps through the API (issue 13): it runs to the end through the real launcher
// and store, and the details endpoint assembles every step of it from the store's node rows.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from '@dagu-ts/testing';

const STEPS = 1000;

let api: TestApi;
beforeAll(async () => {
  api = await startApi({ fixtures: [] });
});
afterAll(async () => {
  await api.close();
});

interface NodeJson {
  step: { name: string; depends?: string[] };
  status: number;
  statusLabel: string;
  stdout: string;
  doneCount: number;
  error?: string;
}

describe('a 1,000-step DAG', () => {
  it('runs through /api/v2 and its details list every step in order with its final state', async () => {
    // A graph of four chains of 250 (four steps at a time): each step depends on the one four
    // before it, and the onExit handler runs after all of them.
    const lines = [
      'type: graph',
      'maxActiveSteps: 4',
      'handlerOn:',
      '  exit:',
      '    command: "true"',
    ];
    lines.push('steps:');
    for (let i = 0; i < STEPS; i++) {
      lines.push(`  - name: s${i}`, '    command: "true"');
      if (i >= 4) lines.push(`    depends: [s${i - 4}]`);
    }
    lines.push('  - name: last', '    command: echo done', '    output: LAST');
    lines.push(`    depends: [${[1, 2, 3, 4].map((k) => `s${STEPS - k}`).join(', ')}]`);
    writeFileSync(join(api.store.paths.dagsDir, 'big.yaml'), lines.join('\n'));

    const started = await api.call('POST', '/dags/big/start', { json: {} });
    expect(started.status, started.text).toBe(200);
    const id = started.body.dagRunId as string;
    const finished = await api.waitForRun('big', id, 600_000);
    expect(finished.status).toBe(4);

    const { status, body } = await api.call('GET', `/dag-runs/big/${id}`);
    expect(status).toBe(200);
    const details = body.dagRunDetails as {
      status: number;
      nodes: NodeJson[];
      onExit?: NodeJson;
    };
    expect(details.status).toBe(4);
    expect(details.nodes.map((n) => n.step.name)).toEqual([
      ...Array.from({ length: STEPS }, (_, i) => `s${i}`),
      'last',
    ]);
    for (const node of details.nodes) {
      expect([node.status, node.statusLabel, node.doneCount], node.step.name).toEqual([
        4,
        'finished',
        1,
      ]);
      expect(node.stdout, node.step.name).toContain(`/${node.step.name}.`);
    }
    expect(details.nodes[STEPS - 1]!.step.depends).toEqual([`s${STEPS - 5}`]);
    expect(details.onExit?.status).toBe(4);
    const stored = (await api.store.runs.getRun('big', id))!.snapshot;
    expect(stored.nodes.at(-1)!.outputs).toEqual({ LAST: 'LAST=done' });
    expect(api.problems).toEqual([]);
  }, 600_000);
});
