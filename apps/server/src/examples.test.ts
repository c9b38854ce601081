import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDag } from '@dagu-ts/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EXAMPLE_DAGS, hasNoDagFiles, writeExampleDags } from './examples.js';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dagu-server-examples-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('example DAGs', () => {
  it.each(Object.entries(EXAMPLE_DAGS))('%s is a valid DAG', (fileName, yaml) => {
    const dag = parseDag(yaml, { name: fileName.replace(/\.yaml$/, '') });
    expect(dag.steps.length).toBeGreaterThan(1);
  });

  it('are written into a missing or empty directory, never over an existing file', async () => {
    const dagsDir = join(dir, 'dags');
    expect(hasNoDagFiles(dagsDir)).toBe(true);
    expect(await writeExampleDags(dagsDir)).toEqual(Object.keys(EXAMPLE_DAGS));
    expect(hasNoDagFiles(dagsDir)).toBe(false);
    writeFileSync(join(dagsDir, 'example-hello.yaml'), 'steps: [{name: mine, command: "true"}]\n');
    rmSync(join(dagsDir, 'example-pipeline.yaml'));
    expect(await writeExampleDags(dagsDir)).toEqual(['example-pipeline.yaml']);
    expect(readFileSync(join(dagsDir, 'example-hello.yaml'), 'utf8')).toContain('mine');
    expect(readdirSync(dagsDir).sort()).toEqual(['example-hello.yaml', 'example-pipeline.yaml']);
  });
});
