// Every entry of the compatibility corpus (tests/corpus/cases.json) run through the real engine
// with real child processes: statuses, node fields, handlers, outputs and notes that the engine
// exposes.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDag } from '../dag/loader.js';
import { DagRunner } from './runner.js';
import type { DagRunSnapshot } from './types.js';
import { InMemoryRunRecorder } from './types.js';

interface NodeExpectation {
  status?: number;
  retryCount?: number;
  doneCount?: number;
  exitCode?: number;
  errorIncludes?: string;
}
interface CorpusCase {
  id: string;
  file: string;
  params?: string;
  action?: string;
  expect: {
    load: 'ok' | 'error';
    status?: number;
    exitCode?: number;
    nodes?: Record<string, NodeExpectation>;
    handlers?: Record<string, number>;
    outputs?: Record<string, string>;
    outputsMatch?: Record<string, string>;
  };
}

const corpusDir = new URL('../../../../tests/corpus/', import.meta.url);
const cases = (
  JSON.parse(readFileSync(new URL('cases.json', corpusDir), 'utf8')) as CorpusCase[]
).filter((c) => c.expect.load === 'ok');
const work = mkdtempSync(join(tmpdir(), 'dagu-corpus-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !key.startsWith('DAGU_')) env[key] = value;
  }
  env.SHELL = '/bin/sh';
  return env;
}

/** Output variables of every node (handlers included), NAME → value. */
export function collectOutputs(run: DagRunSnapshot): Record<string, string> {
  const outputs: Record<string, string> = {};
  const nodes = [...run.nodes, ...Object.values(run.handlers)];
  for (const node of nodes) {
    for (const [name, entry] of Object.entries(node.outputs)) {
      if (!name.startsWith('DAGU_')) outputs[name] = entry.slice(entry.indexOf('=') + 1);
    }
  }
  return outputs;
}

describe('corpus through the engine', () => {
  for (const entry of cases) {
    it(`${entry.id} ${entry.file}`, async () => {
      const dir = mkdtempSync(join(work, `${entry.id}-`));
      const file = join(dir, entry.file);
      copyFileSync(new URL(entry.file, corpusDir), file);
      const dag = await loadDag(file);
      const recorder = new InMemoryRunRecorder();
      const runner = new DagRunner({
        dag,
        logDir: join(dir, 'logs'),
        baseEnv: baseEnv(),
        recorder,
        cwd: dir,
        ...(entry.params ? { params: { argv: entry.params.split(' ') } } : {}),
      });
      if (entry.action === 'stop-after-1s') {
        const off = runner.subscribe((event) => {
          if (event.type === 'step-started') {
            off();
            setTimeout(() => runner.stop(), 1000);
          }
        });
      }
      const result = await runner.run();
      const run = result.snapshot;
      const expected = entry.expect;
      const context = `${entry.id}: ${JSON.stringify({ status: run.status, error: run.error, nodes: run.nodes.map((n) => [n.step.name, n.status, n.error]) })}`;

      expect(run.status, context).toBe(expected.status);
      expect(result.exitCode, context).toBe(expected.exitCode);
      expect(run.nodes.map((n) => n.step.name).sort()).toEqual(
        Object.keys(expected.nodes ?? {}).sort(),
      );
      for (const [name, want] of Object.entries(expected.nodes ?? {})) {
        const node = run.nodes.find((n) => n.step.name === name)!;
        if (want.status !== undefined)
          expect(node.status, `${name} status; ${context}`).toBe(want.status);
        if (want.retryCount !== undefined)
          expect(node.retryCount, `${name} retryCount`).toBe(want.retryCount);
        if (want.doneCount !== undefined)
          expect(node.doneCount, `${name} doneCount`).toBe(want.doneCount);
        if (want.exitCode !== undefined)
          expect(node.exitCode, `${name} exitCode`).toBe(want.exitCode);
        if (want.errorIncludes !== undefined)
          expect(node.error, `${name} error`).toContain(want.errorIncludes);
      }
      const handlers = Object.fromEntries(
        Object.entries(run.handlers).map(([name, node]) => [name, node.status]),
      );
      expect(handlers).toEqual(expected.handlers ?? {});
      const outputs = collectOutputs(run);
      for (const [name, value] of Object.entries(expected.outputs ?? {}))
        expect(outputs[name], name).toBe(value);
      for (const [name, pattern] of Object.entries(expected.outputsMatch ?? {})) {
        expect(outputs[name], name).toMatch(new RegExp(pattern));
      }
      checkNotes(entry.id, run, recorder, dir);
    });
  }
});

/** The `notes` of cases.json that the engine exposes as data. */
function checkNotes(
  id: string,
  run: DagRunSnapshot,
  recorder: InMemoryRunRecorder,
  dir: string,
): void {
  const node = (name: string) => run.nodes.find((n) => n.step.name === name)!;
  switch (id) {
    case 'C01':
      expect(run.handlers.onExit?.outputs.EXIT_MSG).toBe('EXIT_MSG=exit saw ABC');
      break;
    case 'C09':
      expect(node('only-dev').preconditions[0]?.error).toBe(
        'condition was not met: expected "dev", got "prod"',
      );
      break;
    case 'C10':
      expect(node('a').stdout).toBe('');
      break;
    case 'C11':
      expect(readFileSync(`/tmp/corpus_retry_${run.dagRunId}`, 'utf8').trim()).toBe('3');
      break;
    case 'C13':
      expect(node('tick').repeated).toBe(true);
      break;
    case 'C18':
      expect(run.paramsList).toEqual(['1=alpha', 'GREETING=hi', '3=beta']);
      break;
    case 'C18b':
      expect(run.paramsList).toEqual(['1=alpha', 'GREETING=yo', '3=beta', '2=omega']);
      break;
    case 'C21': {
      const call = node('call');
      expect(call.children).toHaveLength(1);
      expect(call.children[0]?.params).toBe('WHO="world"');
      const child = recorder.get('child', call.children[0]!.dagRunId)!;
      expect(child.status).toBe(4);
      expect(child.paramsList).toEqual(['WHO=world']);
      expect(child.root).toEqual({ name: 'parent', dagRunId: run.dagRunId });
      expect(child.parent).toEqual({ name: 'parent', dagRunId: run.dagRunId });
      break;
    }
    case 'C22': {
      const each = node('each');
      expect(each.children.map((c) => c.params)).toEqual(['red', 'green', 'blue']);
      const aggregate = JSON.parse(run.nodes[0]!.outputs.AGG!.slice('AGG='.length)) as {
        outputs: unknown[];
      };
      expect(aggregate.outputs).toEqual([
        { COLOR: 'color=red' },
        { COLOR: 'color=green' },
        { COLOR: 'color=blue' },
      ]);
      break;
    }
    case 'C24':
      expect(existsSync(join(dir, `out-${run.dagRunId}.txt`))).toBe(true);
      break;
    case 'C25':
      expect(collectOutputs(run).BIG).toBeUndefined();
      expect(readFileSync(node('big').stdout).length).toBe(1_100_000);
      break;
    case 'C28-01':
      expect(collectOutputs(run).LARGE).toBeUndefined();
      break;
    case 'C28-12':
      expect(run.nodes).toEqual([]);
      break;
  }
}
