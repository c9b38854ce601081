import { describe, expect, it } from 'vitest';
import { parseDotenv } from './dotenv-parse.js';

const parse = (text: string): Record<string, string> => Object.fromEntries(parseDotenv(text));

describe('parseDotenv (godotenv v1.5.1 rules)', () => {
  it('reads KEY=VALUE lines, blank lines and comments', () => {
    expect(parse('# comment\nA=1\n\n  B = two words  \n# another\nC=3')).toEqual({
      A: '1',
      B: 'two words',
      C: '3',
    });
  });

  it('accepts the export prefix and yaml-style colons', () => {
    expect(parse('export A=1\nB: 2\nexportC=3')).toEqual({ A: '1', B: '2', exportC: '3' });
  });

  it('strips an inline comment that follows whitespace', () => {
    expect(parse('A=value # note\nB=a#b\nC=x #y #z')).toEqual({ A: 'value', B: 'a#b', C: 'x #y' });
  });

  it('takes single-quoted values literally', () => {
    expect(parse("A='a $B \\n # kept'")).toEqual({ A: 'a $B \\n # kept' });
  });

  it('unescapes double-quoted values', () => {
    expect(parse('A="line1\\nline2"\nB="say \\"hi\\" now"\nC="back\\\\slash \\$NOT"')).toEqual({
      A: 'line1\nline2',
      B: 'say "hi" now',
      C: 'back\\slash $NOT',
    });
  });

  it('trims every quote at the ends, so a closing escaped quote is lost (godotenv QUIRK)', () => {
    expect(parse('B="say \\"hi\\""')).toEqual({ B: 'say "hi\\' });
  });

  it('keeps line breaks inside double quotes', () => {
    expect(parse('A="one\ntwo"\nB=3')).toEqual({ A: 'one\ntwo', B: '3' });
  });

  it('expands $VAR and ${VAR} from earlier keys of the same file only', () => {
    expect(parse('A=1\nB=$A-${A}\nC="${B}!"\nD=${LATER}\nLATER=x\nE=$lower')).toEqual({
      A: '1',
      B: '1-1',
      C: '1-1!',
      D: '',
      LATER: 'x',
      E: '$lower',
    });
  });

  it('handles CRLF line endings', () => {
    expect(parse('A=1\r\nB="2"\r\n')).toEqual({ A: '1', B: '2' });
  });

  it('gives empty values for KEY= and empty quotes', () => {
    expect(parse('A=\nB=""\nC=')).toEqual({ A: '', B: '', C: '' });
  });

  it('lets a later line override an earlier one', () => {
    expect(parse('A=1\nA=2')).toEqual({ A: '2' });
  });

  it('rejects an unterminated quote and invalid key characters', () => {
    expect(() => parseDotenv('A="open\nB=1')).toThrow(/unterminated quoted value/);
    expect(() => parseDotenv('MY-VAR=1')).toThrow(/unexpected character "-"/);
  });
});
