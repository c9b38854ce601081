import { describe, expect, it } from 'vitest';
import { MAX_JQ_QUERY_BYTES, runJq } from './jq.js';

const USER = '{"user": {"name": "Ann", "roles": ["a", "b"]}}\n';

describe('runJq (C26)', () => {
  it('prints a string result quoted, on its own line', async () => {
    expect(await runJq({ query: '.user.name', input: USER, raw: false })).toEqual({
      stdout: '"Ann"\n',
      stderr: '',
      exitCode: 0,
      error: undefined,
    });
  });

  it('prints strings raw with raw: true (jq -r)', async () => {
    const outcome = await runJq({
      query: '.user.name',
      input: '{"user": {"name": "Ann"}}',
      raw: true,
    });
    expect(outcome.stdout).toBe('Ann\n');
    expect(outcome.exitCode).toBe(0);
  });

  it('prints every result on its own line', async () => {
    const outcome = await runJq({ query: '.user.roles[]', input: USER, raw: false });
    expect(outcome.stdout).toBe('"a"\n"b"\n');
  });
});

describe('runJq output format', () => {
  it('pretty-prints objects and arrays with 2-space indentation', async () => {
    const outcome = await runJq({ query: '.user', input: USER, raw: false });
    expect(outcome.stdout).toBe('{\n  "name": "Ann",\n  "roles": [\n    "a",\n    "b"\n  ]\n}\n');
  });

  it('in raw mode prints only strings raw; other values stay JSON', async () => {
    const outcome = await runJq({
      query: '.user.name, .user.roles, 3, null',
      input: USER,
      raw: true,
    });
    expect(outcome.stdout).toBe('Ann\n[\n  "a",\n  "b"\n]\n3\nnull\n');
  });

  it('keeps whitespace, empty strings and escapes of raw strings exactly', async () => {
    const input = JSON.stringify({ xs: ['  lead', 'trail\n', '', 'tab\there', 'é😀'] });
    const raw = await runJq({ query: '.xs[]', input, raw: true });
    expect(raw.stdout).toBe('  lead\ntrail\n\n\ntab\there\né😀\n');
    const quoted = await runJq({ query: '.xs[]', input, raw: false });
    expect(quoted.stdout).toBe('"  lead"\n"trail\\n"\n""\n"tab\\there"\n"é😀"\n');
  });

  it('is real jq: functions, regexes, reduce, string interpolation, literal numbers', async () => {
    const input =
      '{"items": [{"n": "x", "v": 2}, {"n": "y", "v": 1.0}], "big": 100000000000000000001}';
    const outcome = await runJq({
      query:
        '(.items | sort_by(.v) | map(.n) | join(",")), (reduce .items[] as $i (0; . + $i.v)), ' +
        '("abc" | test("^a.c$")), ("a-b" | sub("-"; "+")), "\\(.items | length) items", .big, .items[1].v',
      input,
      raw: false,
    });
    expect(outcome.stdout).toBe('"y,x"\n3\ntrue\n"a+b"\n"2 items"\n100000000000000000001\n1.0\n');
  });

  it('accepts any JSON value as input, not only objects', async () => {
    expect((await runJq({ query: '.[1]', input: '[1, 2]', raw: false })).stdout).toBe('2\n');
    expect((await runJq({ query: '. + "!"', input: '"hi"', raw: true })).stdout).toBe('hi!\n');
  });

  it('prints nothing for a query without results', async () => {
    expect(await runJq({ query: 'empty', input: USER, raw: false })).toEqual({
      stdout: '',
      stderr: '',
      exitCode: 0,
      error: undefined,
    });
  });

  it('runs many queries in a row (a fresh wasm instance per call)', async () => {
    for (let i = 0; i < 320; i++) {
      const outcome = await runJq({
        query: `.n + ${i} | tostring | "value-" + .`,
        input: '{"n":1}',
        raw: true,
      });
      expect(outcome.stdout).toBe(`value-${i + 1}\n`);
    }
  });
});

describe('runJq failures', () => {
  it('fails on invalid input JSON with a clear error', async () => {
    const outcome = await runJq({ query: '.', input: '{"user": ', raw: false });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.stdout).toBe('');
    expect(outcome.error).toMatch(/^jq: invalid JSON input: /);
    expect(outcome.stderr).toBe(`${outcome.error}\n`);
  });

  it('fails on empty input and on several JSON texts', async () => {
    const empty = await runJq({ query: '.', input: '  \n', raw: false });
    expect(empty.exitCode).toBe(1);
    expect(empty.error).toMatch(/^jq: invalid JSON input: /);
    const several = await runJq({ query: '.', input: '1 2', raw: false });
    expect(several.exitCode).toBe(1);
    expect(several.error).toMatch(/^jq: invalid JSON input: /);
  });

  it('fails on a query that does not compile, with jq’s message', async () => {
    const outcome = await runJq({ query: '.user[', input: USER, raw: false });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.stdout).toBe('');
    expect(outcome.error).toBe(
      'jq: invalid query: syntax error, unexpected end of file at <top-level>, line 1, column 6:',
    );
    expect(outcome.stderr).toContain('jq: 1 compile error');
  });

  it('fails on an unknown function or variable', async () => {
    const fn = await runJq({ query: 'nosuchfn(1)', input: USER, raw: false });
    expect(fn.exitCode).toBe(1);
    expect(fn.error).toBe(
      'jq: invalid query: nosuchfn/1 is not defined at <top-level>, line 1, column 1:',
    );
    const variable = await runJq({ query: '$nope', input: USER, raw: false });
    expect(variable.exitCode).toBe(1);
    expect(variable.error).toBe(
      'jq: invalid query: $nope is not defined at <top-level>, line 1, column 1:',
    );
  });

  it('reports a run-time error on stderr and succeeds, like Dagu', async () => {
    const outcome = await runJq({ query: '.user.name.first', input: USER, raw: false });
    expect(outcome).toEqual({
      stdout: '',
      stderr: 'jq: error (at <stdin>:1): Cannot index string with string ("first")\n',
      exitCode: 0,
      error: undefined,
    });
  });

  it('keeps the results before a run-time error and still reports the error', async () => {
    const outcome = await runJq({ query: '.user.roles[], error("boom")', input: USER, raw: false });
    expect(outcome).toEqual({
      stdout: '"a"\n"b"\n',
      stderr: 'jq: error (at <stdin>:1): boom\n',
      exitCode: 0,
      error: undefined,
    });
  });

  it('treats halt_error like a run-time error: results kept, message on stderr', async () => {
    const outcome = await runJq({
      query: '.user.roles[], ("stopped here\\n" | halt_error)',
      input: USER,
      raw: true,
    });
    expect(outcome).toEqual({
      stdout: 'a\nb\n',
      stderr: 'stopped here\n',
      exitCode: 0,
      error: undefined,
    });
  });

  it('succeeds when the query only writes to stderr (debug)', async () => {
    const outcome = await runJq({ query: '.user.name | debug | empty', input: USER, raw: false });
    expect(outcome).toEqual({
      stdout: '',
      stderr: '["DEBUG:","Ann"]\n',
      exitCode: 0,
      error: undefined,
    });
  });

  it('refuses a query longer than the wasm stack allows', async () => {
    const outcome = await runJq({
      query: `.a${' '.repeat(MAX_JQ_QUERY_BYTES)}`,
      input: '{}',
      raw: false,
    });
    expect(outcome.exitCode).toBe(1);
    expect(outcome.error).toMatch(/^jq: query too long/);
  });
});
