// The DAG files a run calls by name, collected ahead of time (for a worker), and a runner given
// them running its child runs without any DAG file.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDag } from '../dag/loader.js';
import { collectChildDags } from './dag-lookup.js';
import { DagRunner } from './runner.js';
import { DagRunStatus } from './status.js';
import type { RunEvent } from './types.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-dag-lookup-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function write(path: string, yaml: string): string {
  const file = join(work, path);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, yaml);
  return file;
}

describe('collectChildDags', () => {
  const dags = join(work, 'dags');
  write(
    'dags/parent.yaml',
    [
      'steps:',
      '  - name: file',
      '    run: child',
      '  - name: nested-dir',
      '    run: team/tool.yaml',
      '  - name: local',
      '    run: inline',
      '  - name: dynamic',
      '    run: ${WHICH}',
      '  - name: missing',
      '    run: nowhere',
      'handlerOn:',
      '  exit:',
      '    run: cleanup',
      '---',
      'name: inline',
      'steps:',
      '  - name: x',
      '    run: from-local',
    ].join('\n'),
  );
  write('dags/child.yaml', 'steps:\n  - name: deeper\n    run: grandchild\n');
  write('dags/grandchild.yaml', 'steps:\n  - name: g\n    command: echo grand\n');
  write('dags/team/tool.yaml', 'steps:\n  - name: t\n    command: echo tool\n');
  write('dags/cleanup.yaml', 'steps:\n  - name: c\n    command: echo clean\n');
  write('dags/from-local.yaml', 'steps:\n  - name: l\n    command: echo local\n');

  it('resolves every static name, transitively, and leaves out local, dynamic and missing ones', async () => {
    const parent = await loadDag(join(dags, 'parent.yaml'));
    const found = await collectChildDags(parent, {
      localDags: parent.localDags,
      searchPaths: [dags],
      engineCwd: work,
    });
    expect(Object.keys(found).sort()).toEqual([
      'child',
      'cleanup',
      'from-local',
      'grandchild',
      'team/tool.yaml',
    ]);
    expect(found['team/tool.yaml']!.name).toBe('tool');
    expect(found.grandchild!.steps[0]!.name).toBe('g');
  });

  it('lets a runner without the files run the child runs it was given', async () => {
    const root = await loadDag(
      write('elsewhere/root.yaml', 'steps:\n  - name: call\n    run: child\n'),
    );
    const childDags = await collectChildDags(root, {
      localDags: root.localDags,
      searchPaths: [dags],
      engineCwd: work,
    });
    const names = new Set<string>();
    const recorder = { record: async (event: RunEvent) => void names.add(event.run.name) };
    const result = await new DagRunner({
      dag: { ...root, location: undefined },
      childDags,
      logDir: join(work, 'logs'),
      recorder,
      cwd: join(work, 'elsewhere'),
    }).run();
    expect(result.status).toBe(DagRunStatus.Success);
    expect(names).toEqual(new Set(['root', 'child', 'grandchild']));

    // Without them the same run fails: the child is nowhere to be found.
    const alone = await new DagRunner({
      dag: { ...root, location: undefined },
      logDir: join(work, 'logs'),
      cwd: join(work, 'elsewhere'),
    }).run();
    expect(alone.status).toBe(DagRunStatus.Failed);
  });
});
