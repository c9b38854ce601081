import { describe, expect, it } from 'vitest';
import { tokenizeParamString } from './tokenize.js';

describe('tokenizeParamString', () => {
  it('splits named and positional tokens', () => {
    expect(tokenizeParamString('a K=v b')).toEqual([
      { name: undefined, value: 'a', quoting: 'bare' },
      { name: 'K', value: 'v', quoting: 'bare' },
      { name: undefined, value: 'b', quoting: 'bare' },
    ]);
  });

  it('strips double quotes and unescapes \\" inside them', () => {
    expect(tokenizeParamString('X="a \\"b\\" c" "two words"')).toEqual([
      { name: 'X', value: 'a "b" c', quoting: 'double' },
      { name: undefined, value: 'two words', quoting: 'double' },
    ]);
  });

  it('strips every leading and trailing quote, like Go strings.Trim (QUIRK)', () => {
    expect(tokenizeParamString('X="\\"hi\\""')).toEqual([
      { name: 'X', value: '"hi\\', quoting: 'double' },
    ]);
    expect(tokenizeParamString('E=""')).toEqual([{ name: 'E', value: '', quoting: 'double' }]);
  });

  it('keeps backtick-quoted values with their backticks, spaces included', () => {
    expect(tokenizeParamString('D=`date +%F` x')).toEqual([
      { name: 'D', value: '`date +%F`', quoting: 'backtick' },
      { name: undefined, value: 'x', quoting: 'bare' },
    ]);
  });

  it('lets a backtick value run to the last backtick before a double quote (Dagu regex)', () => {
    expect(tokenizeParamString('X=`echo a` Y=`echo b`')).toEqual([
      { name: 'X', value: '`echo a` Y=`echo b`', quoting: 'backtick' },
    ]);
  });

  it('keeps $(…) and other shell syntax in bare values as text', () => {
    expect(tokenizeParamString('X=$(echo hi) Y=${Z}')).toEqual([
      { name: 'X', value: '$(echo', quoting: 'bare' },
      { name: undefined, value: 'hi)', quoting: 'bare' },
      { name: 'Y', value: '${Z}', quoting: 'bare' },
    ]);
  });

  it('treats NAME= without a value as a positional token', () => {
    expect(tokenizeParamString('K= x')).toEqual([
      { name: undefined, value: 'K=', quoting: 'bare' },
      { name: undefined, value: 'x', quoting: 'bare' },
    ]);
  });

  it('splits a value at = only once and accepts tabs and newlines as separators', () => {
    expect(tokenizeParamString('URL=a=b\tc\nd')).toEqual([
      { name: 'URL', value: 'a=b', quoting: 'bare' },
      { name: undefined, value: 'c', quoting: 'bare' },
      { name: undefined, value: 'd', quoting: 'bare' },
    ]);
  });

  it('tokenises a JSON object into positional fragments (no JSON params in v1.17.4)', () => {
    expect(tokenizeParamString('{"REGION":"eu"}').map((token) => token.value)).toEqual([
      '{',
      'REGION',
      ':',
      'eu',
      '}',
    ]);
  });

  it('skips a stray double quote', () => {
    expect(tokenizeParamString('a"b').map((token) => token.value)).toEqual(['a', 'b']);
  });

  it('returns nothing for blank text', () => {
    expect(tokenizeParamString('   ')).toEqual([]);
  });
});
