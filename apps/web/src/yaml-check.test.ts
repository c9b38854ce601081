import { describe, expect, it } from 'vitest';
import { yamlProblems } from './yaml-check.js';

describe('yamlProblems', () => {
  it('finds nothing in a valid spec', () => {
    expect(yamlProblems('steps:\n  - name: a\n    command: echo "a b" # a: b\n')).toEqual([]);
    expect(yamlProblems('')).toEqual([]);
  });

  it('gives the line of each syntax error', () => {
    // An unclosed quote: the line where it opened, not the end of the text.
    expect(yamlProblems('name: x\nsteps:\n  - command: "unterminated\n    depends: a\n')).toEqual([
      { line: 3, message: expect.stringMatching(/quote/i) },
    ]);
    expect(yamlProblems('a: 1\nb: 2\na: 3\n')).toEqual([
      { line: 3, message: expect.stringMatching(/unique/i) },
    ]);
    // In a later document too.
    expect(yamlProblems('steps: []\n---\nname: sub\nsteps: [\n').map((p) => p.line)).toEqual([5]);
  });

  it('says when the document is not a map', () => {
    expect(yamlProblems('# a list\n- a\n- b\n')).toEqual([
      { line: 2, message: expect.stringMatching(/must be a map/) },
    ]);
  });
});
