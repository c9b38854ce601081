import { describe, expect, it } from 'vitest';
import { evaluateJsonPath, formatJsonValue } from './json-path.js';

const config: unknown = JSON.parse(
  '{"server":{"port":8080,"host":"localhost"},"big":1500000,"tags":["a","b"]}',
);

function select(value: unknown, path: string): string | undefined {
  const result = evaluateJsonPath(value, path);
  return result.found ? formatJsonValue(result.value) : undefined;
}

describe('evaluateJsonPath', () => {
  it('selects the C17 values', () => {
    expect(select(config, '.server.host')).toBe('localhost');
    expect(select(config, '.server.port')).toBe('8080');
    expect(select(config, '.big')).toBe('1500000');
    expect(select(config, '.tags')).toBe('["a","b"]');
    expect(select(config, '.server')).toBe('{"port":8080,"host":"localhost"}');
  });

  it('yields null (formatted empty) for a missing key, index or null parent', () => {
    expect(evaluateJsonPath(config, '.nope')).toEqual({ found: true, value: null });
    expect(select(config, '.nope')).toBe('');
    expect(select(config, '.nope.deeper')).toBe('');
    expect(select(config, '.tags[5]')).toBe('');
    expect(select(config, '.tags[-3]')).toBe('');
  });

  it('indexes arrays, including from the end', () => {
    expect(select(config, '.tags[0]')).toBe('a');
    expect(select(config, '.tags[-1]')).toBe('b');
    expect(select(config, '.tags.[1]')).toBe('b');
    expect(select([10, 20], '.[1]')).toBe('20');
    expect(select({ a: [[1, 2], [3]] }, '.a[0][1]')).toBe('2');
  });

  it('accepts quoted keys in both jq spellings', () => {
    const value = { 'key with space': { 'a"b': 1 }, plain: true };
    expect(select(value, '.["key with space"]')).toBe('{"a\\"b":1}');
    expect(select(value, '."key with space"."a\\"b"')).toBe('1');
    expect(select(value, '.[ "plain" ]')).toBe('true');
  });

  it('returns the whole value for "."', () => {
    expect(evaluateJsonPath(5, '.')).toEqual({ found: true, value: 5 });
  });

  it('reports type errors as not found', () => {
    expect(evaluateJsonPath(config, '.big.x').found).toBe(false);
    expect(evaluateJsonPath(config, '.tags.a').found).toBe(false);
    expect(evaluateJsonPath(config, '.server[0]').found).toBe(false);
    expect(evaluateJsonPath('text', '.a').found).toBe(false);
  });

  it('reports syntax outside the supported subset as not found', () => {
    for (const path of [
      '.a | .b',
      '.a.',
      '.server.host"',
      '.0',
      '.a[]',
      '.a?',
      '.a-b',
      'a',
      '.["x"',
      '.[1',
      '.server.host:8080',
    ]) {
      expect(evaluateJsonPath(config, path).found, path).toBe(false);
    }
  });
});

describe('formatJsonValue (dag-yaml.md Part A #5)', () => {
  it('prints numbers the JavaScript way', () => {
    expect(formatJsonValue(1500000)).toBe('1500000');
    expect(formatJsonValue(0.5)).toBe('0.5');
    expect(formatJsonValue(1.234567e6)).toBe('1234567');
    expect(formatJsonValue(1e21)).toBe('1e+21');
    expect(formatJsonValue(-3)).toBe('-3');
  });

  it('prints strings raw and booleans as words', () => {
    expect(formatJsonValue('a "quoted" text')).toBe('a "quoted" text');
    expect(formatJsonValue(true)).toBe('true');
    expect(formatJsonValue(false)).toBe('false');
  });

  it('prints null and undefined as empty', () => {
    expect(formatJsonValue(null)).toBe('');
    expect(formatJsonValue(undefined)).toBe('');
  });

  it('prints arrays and objects as compact JSON', () => {
    expect(formatJsonValue(['a', 'b'])).toBe('["a","b"]');
    expect(formatJsonValue({ k: 'v' })).toBe('{"k":"v"}');
    expect(formatJsonValue([1, null, { x: [true] }])).toBe('[1,null,{"x":[true]}]');
  });
});
