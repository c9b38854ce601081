import { describe, expect, it } from 'vitest';
import { formatParamsList, quoteParamsForChild } from './format.js';
import { quoteGo } from './go-quote.js';

describe('formatParamsList', () => {
  it('prints NAME=value, positional ones under their number', () => {
    expect(
      formatParamsList([
        { name: '1', value: 'alpha' },
        { name: 'GREETING', value: 'hi there' },
        { name: '3', value: '' },
      ]),
    ).toEqual(['1=alpha', 'GREETING=hi there', '3=']);
  });
});

describe('quoteGo (strconv.Quote)', () => {
  it('escapes quotes, backslashes and control characters', () => {
    expect(quoteGo('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(quoteGo('l1\nl2\tx\r\u0007\b\f\v')).toBe('"l1\\nl2\\tx\\r\\a\\b\\f\\v"');
    expect(quoteGo('\u0001\u007f')).toBe('"\\x01\\x7f"');
  });

  it('keeps printable Unicode and escapes the rest', () => {
    expect(quoteGo('héllo ☃ 😀')).toBe('"héllo ☃ 😀"');
    expect(quoteGo('\u00a0\u200b\u2028')).toBe('"\\u00a0\\u200b\\u2028"');
    expect(quoteGo('\u{10ffff}')).toBe('"\\U0010ffff"');
    expect(quoteGo('\ud800')).toBe('"\\ufffd"');
  });
});

describe('quoteParamsForChild', () => {
  it('quotes the C21 child params', () => {
    expect(quoteParamsForChild({ form: 'string', text: 'WHO=world' })).toBe('WHO="world"');
  });

  it('keeps positional tokens positional', () => {
    expect(quoteParamsForChild({ form: 'string', text: 'a K=v "b c"' })).toBe('"a" K="v" "b c"');
  });

  it('does not evaluate anything', () => {
    expect(quoteParamsForChild({ form: 'string', text: 'D=`date` H=$HOME X="${ITEM}"' })).toBe(
      'D="`date`" H="$HOME" X="${ITEM}"',
    );
  });

  it('normalises the list form, name/value pairs and strings alike', () => {
    const def = {
      form: 'list' as const,
      items: [{ name: 'MSG', value: 'say "hi"\n' }, 'A=1 pos', { name: 'N', value: '3' }],
    };
    expect(quoteParamsForChild(def)).toBe('MSG="say \\"hi\\"\\n" A="1" "pos" N="3"');
  });

  it('gives an empty string for no params', () => {
    expect(quoteParamsForChild({ form: 'list', items: [] })).toBe('');
    expect(quoteParamsForChild({ form: 'string', text: '' })).toBe('');
  });
});
