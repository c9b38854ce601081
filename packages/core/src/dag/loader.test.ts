import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DagValidationError } from '../errors.js';
import { loadDag, loadDagMetadata, parseDag, parseDagMetadata } from './loader.js';
import type { Dag } from './model.js';

const corpusDir = new URL('../../../../tests/corpus/', import.meta.url);
interface CorpusCase {
  id: string;
  file: string;
  expect: { load: 'ok' | 'error'; loadErrorIncludes?: string; nodes?: Record<string, unknown> };
}
const cases = JSON.parse(readFileSync(new URL('cases.json', corpusDir), 'utf8')) as CorpusCase[];

function loadError(text: string, location = '/dags/test.yaml'): DagValidationError {
  try {
    parseDag(text, { location });
  } catch (error) {
    if (error instanceof DagValidationError) return error;
    throw error;
  }
  throw new Error('expected a validation error');
}

const parse = (text: string): Dag => parseDag(text, { location: '/dags/test.yaml' });

describe('corpus', () => {
  for (const entry of cases) {
    it(`${entry.id} ${entry.file} → load ${entry.expect.load}`, async () => {
      const path = new URL(entry.file, corpusDir).pathname;
      if (entry.expect.load === 'error') {
        const error = await loadDag(path).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(DagValidationError);
        expect((error as DagValidationError).message).toContain(entry.expect.loadErrorIncludes!);
      } else {
        const dag = await loadDag(path);
        // Compared as sets: JSON objects put integer-like keys ("7") first.
        expect(dag.steps.map((s) => s.name).sort()).toEqual(
          Object.keys(entry.expect.nodes ?? {}).sort(),
        );
      }
    });
  }

  it('C01: chain dependencies are injected', async () => {
    const dag = await loadDag(new URL('c01-chain-outputs.yaml', corpusDir).pathname);
    expect(dag.name).toBe('c01-chain-outputs');
    expect(dag.steps.map((s) => s.depends)).toEqual([[], ['a'], ['b']]);
    expect(Object.keys(dag.handlerOn)).toEqual(['onSuccess', 'onExit']);
    expect(dag.handlerOn.onExit?.name).toBe('onExit');
  });

  it('C28-16: map-form steps keep document order, "7" included', async () => {
    const dag = await loadDag(new URL('c28-16-map-steps-order.yaml', corpusDir).pathname);
    expect(dag.steps.map((s) => [s.name, s.depends])).toEqual([
      ['zulu', []],
      ['7', ['zulu']],
      ['alpha', ['7']],
    ]);
  });

  it('C21: local DAGs come from the later documents', async () => {
    const dag = await loadDag(new URL('c21-local-child.yaml', corpusDir).pathname);
    expect(dag.name).toBe('parent');
    expect(dag.localDags.map((d) => d.name)).toEqual(['child']);
    expect(dag.steps[0]).toMatchObject({
      run: 'child',
      params: 'WHO="world"',
      executor: { type: 'dag' },
    });
  });

  it('C22: parallel items and maxConcurrent', async () => {
    const dag = await loadDag(new URL('c22-parallel-fanout.yaml', corpusDir).pathname);
    expect(dag.steps[0]).toMatchObject({
      executor: { type: 'parallel' },
      parallel: { items: ['red', 'green', 'red', 'blue'], maxConcurrent: 2, variable: undefined },
    });
  });

  it('C28-14: extension fields are read', async () => {
    const dag = await loadDag(new URL('c28-14-extension-fields.yaml', corpusDir).pathname);
    expect(dag.shell).toBe('/bin/sh');
    expect(dag.workingDir).toBe('/tmp');
    expect(dag.steps[0]).toMatchObject({
      timeoutSec: 30,
      retryPolicy: { limit: 1, intervalSec: 1, backoff: 2, maxIntervalSec: 5, exitCode: [] },
    });
  });
});

describe('DAG-level fields', () => {
  it('applies the defaults of dag-yaml.md', () => {
    const dag = parse('steps:\n  - name: a\n    command: echo a\n');
    expect(dag).toMatchObject({
      name: 'test',
      type: 'chain',
      tags: [],
      maxActiveRuns: 1,
      maxActiveSteps: 0,
      histRetentionDays: 30,
      maxCleanUpTimeSec: 60,
      maxOutputSize: 1024 * 1024,
      timeoutSec: 0,
      delaySec: 0,
      location: '/dags/test.yaml',
    });
  });

  it('keeps an explicit name over the file name', () => {
    expect(parse('name: custom\n').name).toBe('custom');
  });

  it('reads tags as a comma string or a list, lower-cased and trimmed', () => {
    expect(parse('tags: "Daily, ETL ,,x"').tags).toEqual(['daily', 'etl', 'x']);
    expect(parse('tags: [Prod, 2024, true]').tags).toEqual(['prod', '2024', 'true']);
  });

  it('reads the three schedule shapes, time-zone prefixes and descriptors', () => {
    expect(parse('schedule: "0 2 * * *"').schedule.start).toEqual([
      { expression: '0 2 * * *', cron: '0 2 * * *', timezone: undefined },
    ]);
    expect(parse('schedule: ["0 9 * * 1-5", "30 14 * * 6,0"]').schedule.start).toHaveLength(2);
    const map = parse(
      'schedule:\n  start: "0 8 * * *"\n  stop: ["0 12 * * *", "0 18 * * *"]\n  restart: "0 13 * * *"\n',
    );
    expect([
      map.schedule.start.length,
      map.schedule.stop.length,
      map.schedule.restart.length,
    ]).toEqual([1, 2, 1]);
    expect(parse('schedule: "CRON_TZ=Asia/Tokyo 0 9 * * *"').schedule.start[0]).toEqual({
      expression: 'CRON_TZ=Asia/Tokyo 0 9 * * *',
      cron: '0 9 * * *',
      timezone: 'Asia/Tokyo',
    });
    expect(parse('schedule: "TZ=UTC 0 9 * * *"').schedule.start[0]?.timezone).toBe('UTC');
    expect(parse('schedule: "@daily"').schedule.start[0]?.cron).toBe('0 0 * * *');
  });

  it.each([
    ['schedule: "@every 5m"', 'only @hourly'],
    ['schedule: "* * * *"', 'expected 5 fields'],
    ['schedule: "0 0 * * * *"', 'expected 5 fields'],
    ['schedule: "61 * * * *"', 'invalid schedule'],
    ['schedule: "CRON_TZ=Mars/Base 0 9 * * *"', 'unknown time zone'],
    ['schedule:\n  begin: "0 0 * * *"', 'unknown key "begin"'],
  ])('rejects %s', (yaml, message) => {
    expect(loadError(yaml).message).toContain(message);
  });

  it('reads params in string, list and map form', () => {
    expect(parse('params: "a K=v"').params).toEqual({ form: 'string', text: 'a K=v' });
    expect(
      parse('params:\n  - GREETING: hi\n  - COUNT: 3\n  - "extra positional"\n').params,
    ).toEqual({
      form: 'list',
      items: [{ name: 'GREETING', value: 'hi' }, { name: 'COUNT', value: '3' }, 'extra positional'],
    });
    expect(parse('params: {B: two, A: 1}').params).toEqual({
      form: 'list',
      items: [
        { name: 'B', value: 'two' },
        { name: 'A', value: '1' },
      ],
    });
  });

  it('reads env as an ordered list or a map, stringifying values and ignoring non-map items', () => {
    expect(parse('env:\n  - A: 1\n  - B: ${A}/x\n  - plain\n').env).toEqual([
      { key: 'A', value: '1' },
      { key: 'B', value: '${A}/x' },
    ]);
    expect(parse('env: {X: true, Y: y}').env).toEqual([
      { key: 'X', value: 'true' },
      { key: 'Y', value: 'y' },
    ]);
  });

  it("reads Dagu's workerSelector as string labels, and refuses a value that is not a scalar", () => {
    expect(
      parse('workerSelector:\n  gpu: true\n  zone: eu-1\nsteps:\n  - name: a\n    command: "true"')
        .workerSelector,
    ).toEqual({ gpu: 'true', zone: 'eu-1' });
    expect(parse('steps:\n  - name: a\n    command: "true"').workerSelector).toBeUndefined();
    expect(
      loadError('workerSelector:\n  gpu: [1]\nsteps:\n  - name: a\n    command: "true"').message,
    ).toContain('workerSelector.gpu');
  });

  it('normalises maxActiveRuns 0 to 1 and keeps negative values', () => {
    expect(parse('maxActiveRuns: 0').maxActiveRuns).toBe(1);
    expect(parse('maxActiveRuns: -1').maxActiveRuns).toBe(-1);
    expect(parse('histRetentionDays: 0').histRetentionDays).toBe(30);
  });

  it('matches keys case-insensitively', () => {
    expect(
      parse('MaxActiveSteps: 2\nsteps:\n  - Name: a\n    COMMAND: echo a\n').maxActiveSteps,
    ).toBe(2);
  });

  it('truncates floats in integer fields and rejects strings', () => {
    expect(parse('timeoutSec: 10.9').timeoutSec).toBe(10);
    expect(loadError('timeoutSec: "10"').message).toContain(
      'timeoutSec: must be an integer, got a string',
    );
    expect(loadError('skipIfSuccessful: "yes"').message).toContain('must be true or false');
  });

  it('accepts both precondition keys and concatenates them', () => {
    const dag = parse(
      'precondition: "test -f /x"\npreconditions:\n  - condition: "${A}"\n    expected: "re:^a"\n',
    );
    expect(dag.preconditions).toEqual([
      { condition: 'test -f /x', expected: '' },
      { condition: '${A}', expected: 're:^a' },
    ]);
  });

  it('reads handlers and forces their names', () => {
    const dag = parse(
      'handlerOn:\n  failure:\n    command: echo f\n  cancel:\n    name: mine\n    command: echo c\n',
    );
    expect(dag.handlerOn.onFailure?.name).toBe('onFailure');
    expect(dag.handlerOn.onCancel?.name).toBe('onCancel');
    expect(loadError('handlerOn:\n  done:\n    command: x\n').message).toContain(
      'unknown key "done"',
    );
  });

  it('reads mail settings only when an address or host is set', () => {
    const dag = parse(
      'mailOn: {failure: true}\nsmtp: {host: smtp.example.com, port: 587}\nerrorMail: {from: a@x, to: b@x, prefix: "[E]"}\ninfoMail: {prefix: x}\n',
    );
    expect(dag.mailOn).toEqual({ failure: true, success: false });
    expect(dag.smtp).toEqual({ host: 'smtp.example.com', port: '587', username: '', password: '' });
    expect(dag.errorMail).toEqual({ from: 'a@x', to: 'b@x', prefix: '[E]', attachLogs: false });
    expect(dag.infoMail).toBeUndefined();
  });

  it('accepts a DAG without steps', () => {
    expect(parse('description: nothing to do').steps).toEqual([]);
    expect(parse('').steps).toEqual([]);
  });
});

describe('steps', () => {
  it('reads every step field', () => {
    const dag = parse(`
type: graph
steps:
  - name: full
    id: full1
    description: all fields
    command: [python, -c, "print(1)"]
    shell: bash
    dir: /tmp
    output: $OUT
    stdout: out.txt
    stderr: err.txt
    env: {K: v}
    preconditions: ["test -d /tmp", {command: "true"}]
    continueOn: {failure: true, skipped: true, exitCode: "3", output: ["re:^W", x], markSuccess: true}
    retryPolicy: {limit: "\`echo 2\`", intervalSec: 5, exitCode: [1, 2]}
    repeatPolicy: {repeat: true, intervalSec: 1, limit: 3, condition: "\${OUT}", expected: done, exitCode: [7]}
    mailOnError: true
    signalOnStop: SIGINT
    timeoutSec: 9
`);
    expect(dag.steps[0]).toMatchObject({
      name: 'full',
      id: 'full1',
      command: ['python', '-c', 'print(1)'],
      shell: 'bash',
      dir: '/tmp',
      output: 'OUT',
      stdout: 'out.txt',
      stderr: 'err.txt',
      env: [{ key: 'K', value: 'v' }],
      preconditions: [
        { condition: 'test -d /tmp', expected: '' },
        { condition: 'true', expected: '' },
      ],
      continueOn: {
        failure: true,
        skipped: true,
        exitCode: [3],
        output: ['re:^W', 'x'],
        markSuccess: true,
      },
      retryPolicy: { limit: '`echo 2`', intervalSec: 5, exitCode: [1, 2], backoff: undefined },
      repeatPolicy: {
        repeat: true,
        intervalSec: 1,
        limit: 3,
        condition: { condition: '${OUT}', expected: 'done' },
        exitCode: [7],
      },
      mailOnError: true,
      signalOnStop: 'SIGINT',
      timeoutSec: 9,
      executor: { type: '', config: {} },
    });
  });

  it('injects chain dependencies unless depends is given; depends: [] opts out', () => {
    const dag = parse(
      'steps:\n  - {name: a, command: x}\n  - {name: b, command: x}\n  - {name: c, command: x, depends: []}\n  - {name: d, command: x, depends: a}\n',
    );
    expect(dag.steps.map((s) => s.depends)).toEqual([[], ['a'], [], ['a']]);
  });

  it('adds no dependency in graph mode', () => {
    const dag = parse(
      'type: graph\nsteps:\n  - {name: a, command: x}\n  - {name: b, command: x}\n',
    );
    expect(dag.steps.map((s) => s.depends)).toEqual([[], []]);
  });

  it('resolves ids in depends to step names', () => {
    const dag = parse(
      'type: graph\nsteps:\n  - {name: fetch data, id: fetch, command: x}\n  - {name: use, command: y, depends: fetch}\n',
    );
    expect(dag.steps[1]?.depends).toEqual(['fetch data']);
  });

  it('reads executors as a string or a map, and run/parallel set the executor type', () => {
    const dag = parse(`
type: graph
steps:
  - {name: a, executor: jq, command: .x, script: "{}"}
  - name: b
    executor: {type: http, config: {timeout: 5, headers: {A: b}}}
    command: GET http://localhost
  - {name: c, run: child}
  - {name: d, run: child, parallel: "\${ITEMS}"}
  - {name: e, run: child, parallel: {items: [1, {R: eu, N: 2}], maxConcurrent: 3, other: ignored}}
`);
    expect(dag.steps.map((s) => s.executor.type)).toEqual([
      'jq',
      'http',
      'dag',
      'parallel',
      'parallel',
    ]);
    expect(dag.steps[1]?.executor.config).toEqual({ timeout: 5, headers: { A: 'b' } });
    expect(dag.steps[3]?.parallel).toEqual({
      items: undefined,
      variable: '${ITEMS}',
      maxConcurrent: 10,
    });
    expect(dag.steps[4]?.parallel).toEqual({
      items: [1, { R: 'eu', N: 2 }],
      variable: undefined,
      maxConcurrent: 3,
    });
  });

  it('accepts retryPolicy without intervalSec (Part A #2) and backoff: true', () => {
    const dag = parse(
      'steps:\n  - name: a\n    command: x\n    retryPolicy: {limit: 2, backoff: true}\n',
    );
    expect(dag.steps[0]?.retryPolicy).toMatchObject({ limit: 2, intervalSec: 0, backoff: 2 });
  });

  it.each([
    ['steps:\n  - command: echo a\n', 'step name is required'],
    ['steps:\n  - name: a\n', 'step command is required'],
    ['steps:\n  - name: a\n    command: ""\n', 'command must not be empty'],
    ['steps:\n  - name: a\n    command: x\n    signalOnStop: SIGFOO\n', 'invalid signal "SIGFOO"'],
    [
      'steps:\n  - name: a\n    command: x\n    retryPolicy: {intervalSec: 1}\n',
      'retryPolicy.limit is required',
    ],
    [
      'steps:\n  - name: a\n    command: x\n    retryPolicy: {limit: 1, exitCodes: [1]}\n',
      'unknown key "exitCodes"',
    ],
    [
      'steps:\n  - name: a\n    command: x\n    retryPolicy: {limit: 1, backoff: 0.5}\n',
      'backoff must be at least 1',
    ],
    [
      'steps:\n  - name: a\n    command: x\n    continueOn: {exitCode: [abc]}\n',
      'exit codes must be integers',
    ],
    [
      'steps:\n  - name: a\n    command: x\n    preconditions: [{condition: a, when: b}]\n',
      'unknown key "when"',
    ],
    [
      'steps:\n  - name: a\n    command: x\n    preconditions: [{expected: b}]\n',
      'condition is required',
    ],
    ['steps:\n  - name: a\n    executor: {type: http, cfg: {}}\n', 'unknown key "cfg"'],
    [
      'steps:\n  - name: a\n    run: child\n    parallel: {maxConcurrent: 0, items: [a]}\n',
      'maxConcurrent must be greater than 0',
    ],
    ['steps:\n  - name: a\n    run: child\n    parallel: []\n', 'at least one item'],
    ['steps:\n  - {name: a, id: 1x, command: x}\n', 'must start with a letter'],
    ['steps:\n  - {name: a, id: env, command: x}\n', 'reserved word'],
    [
      'steps:\n  - {name: a, id: i, command: x}\n  - {name: b, id: i, command: x}\n',
      'duplicate step id "i"',
    ],
    [
      'steps:\n  - {name: a, command: x}\n  - {name: b, id: a, command: x}\n',
      'is the name of another step',
    ],
    ['steps:\n  - {name: a, command: x, timeoutSec: 0}\n', 'must be greater than 0'],
    ['steps: "echo"\n', 'steps must be a list or a map'],
    ['steps:\n  - echo\n', 'must be a map, got a string'],
  ])('rejects %j', (yaml, message) => {
    expect(loadError(yaml).message).toContain(message);
  });

  it('names both steps of a missing dependency and every step of a cycle', () => {
    expect(loadError('steps:\n  - {name: a, command: x, depends: nope}\n').message).toContain(
      'step "a" depends on "nope", which is not a step of this DAG',
    );
    const cycle = loadError(
      'type: graph\nsteps:\n  - {name: x, command: a, depends: z}\n  - {name: y, command: a, depends: x}\n  - {name: z, command: a, depends: y}\n',
    );
    expect(cycle.message).toMatch(/dependency cycle detected: x -> z -> y -> x/);
  });
});

describe('errors', () => {
  it('collects every problem with its path and line', () => {
    const error = loadError(
      'name: x\nfoo: 1\nsteps:\n  - name: a\n    command: echo\n    retries: 3\n  - name: b\n    bogus: true\n',
    );
    expect(error.issues).toEqual([
      { path: 'foo', line: 2, message: 'unknown key "foo"' },
      { path: 'steps[0].retries', line: 6, message: 'unknown key "retries"' },
      { path: 'steps[1].bogus', line: 8, message: 'unknown key "bogus"' },
      {
        path: 'steps[1]',
        line: 7,
        message: 'step "b": step command is required (command, script, run or executor)',
      },
    ]);
    expect(error.message.split('\n')[0]).toBe('/dags/test.yaml:2: foo: unknown key "foo"');
  });

  it('reports malformed YAML with its line', () => {
    const error = loadError('steps:\n  - name: a\n    command: [unclosed\n');
    expect(error.issues[0]?.message).toMatch(/^invalid YAML/);
    expect(error.issues[0]?.line).toBeGreaterThan(0);
  });

  it('rejects duplicate keys, a non-map document and binary garbage', () => {
    expect(loadError('name: a\nname: b\n').message).toContain('invalid YAML');
    expect(loadError('- just\n- a list\n').message).toContain('must be a map, got a list');
    expect(loadError('\u0000\u0001\u0002binary').message).toContain('NUL');
    const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)).toString(
      'latin1',
    );
    expect(() => parse(garbage)).toThrow(DagValidationError);
  });

  it('refuses deeply nested input and alias bombs without crashing', () => {
    expect(loadError(`otel: ${'['.repeat(5000)}${']'.repeat(5000)}`).message).toMatch(
      /nested|invalid YAML/,
    );
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(10).fill(`*${'abcdefghij'[i]}`).join(',')}]`,
      );
    expect(loadError(`otel:\n  ${bomb.join('\n  ')}\n`).message).toContain('too many nodes');
  });

  it('local DAGs need a unique name', () => {
    expect(loadError('steps: []\n---\nsteps: []\n').message).toContain('must have a name');
    expect(loadError('steps: []\n---\nname: c\n---\nname: c\n').message).toContain(
      'duplicate local DAG name "c"',
    );
  });

  it('merge keys and anchors work', () => {
    const dag = parse(
      'defaults: &d\n  command: echo hi\n'.replace('defaults', 'otel') +
        'steps:\n  - <<: *d\n    name: a\n',
    );
    expect(dag.steps[0]?.command).toBe('echo hi');
  });
});

describe('files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dagu-loader-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a 10 MB file before parsing it', async () => {
    const path = join(dir, 'huge.yaml');
    writeFileSync(path, `description: "${'x'.repeat(10 * 1024 * 1024)}"\n`);
    await expect(loadDag(path)).rejects.toThrow(/file is too large/);
    await expect(loadDagMetadata(path)).rejects.toThrow(/file is too large/);
  });

  it('names the DAG after a .yml file too', async () => {
    const path = join(dir, 'other.yml');
    writeFileSync(path, 'steps: []\n');
    expect((await loadDag(path)).name).toBe('other');
  });
});

describe('metadata fast path', () => {
  it('gives the same listing fields as the full loader for every corpus file', async () => {
    for (const entry of cases.filter((c) => c.expect.load === 'ok')) {
      const path = new URL(entry.file, corpusDir).pathname;
      const dag = await loadDag(path);
      const metadata = await loadDagMetadata(path);
      expect(metadata.name, entry.file).toBe(dag.name);
      expect(metadata.tags).toEqual(dag.tags);
      expect(metadata.schedule).toEqual(dag.schedule);
      expect(metadata.maxActiveRuns).toBe(dag.maxActiveRuns);
    }
  });

  it('reads only the first document and falls back to a full parse for anchors', () => {
    const multi = '---\nsteps: []\n---\nname: local\ndescription: not me\n';
    expect(parseDagMetadata(multi, { name: 'main' })).toMatchObject({
      name: 'main',
      description: undefined,
    });
    const anchored = 'x-defaults: &d "shared text"\ndescription: *d\n'.replace(
      'x-defaults',
      'group',
    );
    expect(parseDagMetadata(anchored, { name: 'a' }).description).toBe('shared text');
    const commentsAndBlocks =
      '# a comment\ndescription: |\n  line one\n\n  line three\nsteps:\n  - {name: a, command: x}\ntags: [t]\n';
    expect(parseDagMetadata(commentsAndBlocks, { name: 'b' })).toMatchObject({
      description: 'line one\n\nline three\n',
      tags: ['t'],
    });
  });

  it('reads the listing fields without validating steps', () => {
    const metadata = parseDagMetadata(
      'description: d\ntags: A,b\nschedule: "0 1 * * *"\nparams: "P1=foo a"\nsteps:\n  - bogus: step\n',
      { location: '/dags/meta.yaml' },
    );
    expect(metadata).toEqual({
      name: 'meta',
      group: undefined,
      description: 'd',
      tags: ['a', 'b'],
      schedule: {
        start: [{ expression: '0 1 * * *', cron: '0 1 * * *', timezone: undefined }],
        stop: [],
        restart: [],
      },
      params: ['P1=foo', '2=a'],
      defaultParams: 'P1="foo" "a"',
      queue: undefined,
      maxActiveRuns: 1,
    });
  });
});

describe('YAML cost is bounded (issue #11 item 5)', () => {
  // Before: each alias walked the whole document and each merged key was compared with every
  // key of its map, so these took seconds (the 1 MiB spec minutes). The parse itself is timed,
  // best of three (distinct locations, so the cache of large parses is not hit), against a
  // budget that holds on a busy machine.
  const PARSE_BUDGET_MS = 1000;
  const timed = (text: string): { ms: number; error?: DagValidationError } => {
    let ms = Number.POSITIVE_INFINITY;
    let error: DagValidationError | undefined;
    for (let run = 0; run < 3; run++) {
      const started = performance.now();
      try {
        parseDag(text, { location: `/dags/cost-${run}.yaml` });
      } catch (thrown) {
        if (!(thrown instanceof DagValidationError)) throw thrown;
        error = thrown;
      }
      ms = Math.min(ms, performance.now() - started);
    }
    return { ms, error };
  };
  const anchoredMap = (keys: number, entry = (i: number) => `key${i}: value${i}`): string[] => [
    'otel: &a',
    ...Array.from({ length: keys }, (_, i) => `  ${entry(i)}`),
  ];

  it('resolves 5,000 aliases in linear time', () => {
    const text = `otel: &s {A: b}\nsteps:\n  - name: a\n    command: echo\n    env: [${'*s, '.repeat(5_000)}*s]\n`;
    const { ms, error } = timed(text);
    expect(error).toBeUndefined();
    expect(ms).toBeLessThan(PARSE_BUDGET_MS);
  });

  it('refuses a merge key bomb with a clear error, quickly', () => {
    const steps = Array.from({ length: 70 }, (_, i) =>
      [`  - name: s${i}`, '    command: echo', '    env:', '      <<: *a'].join('\n'),
    );
    const anchor = anchoredMap(3000, (i) => `k${i}: 1`);
    const { ms, error } = timed([...anchor, 'steps:', ...steps, ''].join('\n'));
    expect(error?.message).toContain('YAML aliases and merge keys expand to too many nodes');
    expect(ms).toBeLessThan(PARSE_BUDGET_MS);
  });

  it('refuses a 1 MiB merge-key spec before parsing it', () => {
    const steps = Array.from({ length: 4 }, (_, i) =>
      [`  - name: s${i}`, '    command: echo', '    env:', '      <<: *a'].join('\n'),
    );
    const text = [...anchoredMap(60_000), 'steps:', ...steps, ''].join('\n');
    expect(Buffer.byteLength(text)).toBeGreaterThan(1024 * 1024);
    const { ms, error } = timed(text);
    expect(error?.message).toMatch(/DAG text is too large \(\d+ bytes; the limit is 262144\)/);
    expect(ms).toBeLessThan(PARSE_BUDGET_MS);
  });

  it('keeps merge semantics: keys the map sets win, repeated keys are errors at their line', () => {
    const dag = parse(
      'otel: &d\n  A: merged\n  B: merged\nsteps:\n  - name: a\n    command: echo\n    env:\n      A: own\n      <<: *d\n',
    );
    expect(dag.steps[0]?.env).toEqual([
      { key: 'A', value: 'own' },
      { key: 'B', value: 'merged' },
    ]);
    const error = loadError('steps:\n  - name: a\n    command: echo\n    name: b\n');
    expect(error.issues[0]).toMatchObject({
      line: 4,
      message: 'invalid YAML: map keys must be unique ("name" is repeated)',
    });
    expect(loadError('otel: &d {a: 1}\nx:\n  <<: *d\n  <<: *d\n').message).toContain(
      'map keys must be unique',
    );
  });

  it('parses a large unchanged text once: later calls get an equal, separate copy', () => {
    const text = `steps:\n${Array.from({ length: 2000 }, (_, i) => `  - name: s${i}\n    command: echo ${i}`).join('\n')}\n`;
    const first = parse(text);
    const started = performance.now();
    const second = parse(text);
    expect(performance.now() - started).toBeLessThan(PARSE_BUDGET_MS);
    expect(second).toEqual(first);
    expect(second).not.toBe(first);
    second.steps.pop();
    expect(parse(text).steps).toHaveLength(2000);
  });
});

describe('DAG names follow the file-name rule (issue #11 item 7)', () => {
  it('refuses a name the API could not address, at the line of the key', () => {
    for (const name of ['../../../../tmp/x/dagesc', 'a/b', 'a\\\\b', '..', 'x'.repeat(300)]) {
      const error = loadError(`description: d\nname: "${name}"\nsteps: []\n`);
      expect(error.issues, name).toEqual([expect.objectContaining({ path: 'name', line: 2 })]);
      expect(error.message).toMatch(/invalid DAG name .*: it /);
    }
    expect(() => parseDagMetadata('name: ../x\n', { location: '/dags/m.yaml' })).toThrow(
      /invalid DAG name "\.\.\/x": it contains a path separator/,
    );
    expect(loadError('steps: []\n---\nname: a/b\n').message).toContain('invalid DAG name "a/b"');
  });

  it('accepts names that are valid file names', () => {
    for (const name of ['deploy', 'my dag', 'a.b-c_d', 'üñí', 'x'.repeat(250)])
      expect(parse(`name: "${name}"\n`).name).toBe(name);
  });
});

describe('listing view of a broken file (issue #12)', () => {
  it('refuses a file whose steps are not valid YAML', () => {
    for (const text of [
      'description: d\nsteps:\n  - name: a\n    command: [unclosed\n',
      'description: d\nsteps:\n  - name: a\n   command: x\n',
      'description: d\nsteps:\n  - name: a\n    name: b\n',
    ]) {
      expect(() => parseDagMetadata(text, { location: '/dags/broken.yaml' }), text).toThrow(
        DagValidationError,
      );
    }
  });
});
