import { describe, expect, it } from 'vitest';
import { expandOsEnv } from './expand-os-env.js';

const env = new Map([
  ['HOME', '/home/u'],
  ['A_1', 'a1'],
  ['1', 'one'],
  ['@', 'at'],
  ['*', 'star'],
  ['#', 'hash'],
  ['$', 'pid'],
  ['?', 'status'],
  ['!', 'bang'],
  ['-', 'dash'],
  ['0', 'zero'],
  ['EMPTY', ''],
]);

describe('expandOsEnv (Go os.ExpandEnv)', () => {
  it('expands $NAME and ${NAME}', () => {
    expect(expandOsEnv('$HOME/x ${HOME}/y', env)).toBe('/home/u/x /home/u/y');
    expect(expandOsEnv('$A_1b', env)).toBe(''); // the name runs over letters, digits and _
    expect(expandOsEnv('${A_1}b', env)).toBe('a1b');
  });

  it('turns unknown names into empty strings', () => {
    expect(expandOsEnv('[$NOPE][${NOPE}][$EMPTY]', env)).toBe('[][][]');
  });

  it('reads the single-character special names', () => {
    expect(expandOsEnv('$1 $@ $* $# $$ $? $! $- $0', env)).toBe(
      'one at star hash pid status bang dash zero',
    );
    expect(expandOsEnv('$12', env)).toBe('one2');
    expect(expandOsEnv('${1}${@}', env)).toBe('oneat');
  });

  it('does not support ${VAR:-default}: the whole text is the name', () => {
    expect(expandOsEnv('x${HOME:-fallback}y', env)).toBe('xy');
    expect(expandOsEnv('${HOME:-fallback}', new Map([['HOME:-fallback', 'literal']]))).toBe(
      'literal',
    );
  });

  it('eats ${} and an unterminated ${ like Go', () => {
    expect(expandOsEnv('a${}b', env)).toBe('ab');
    expect(expandOsEnv('a${HOME', env)).toBe('aHOME');
  });

  it('keeps a $ that is not followed by a name', () => {
    expect(expandOsEnv('cost: 5$', env)).toBe('cost: 5$');
    expect(expandOsEnv('$ x $/ $(echo) $é', env)).toBe('$ x $/ $(echo) $é');
  });

  it('stops bare names at the first non-name character', () => {
    expect(expandOsEnv('$HOME.txt $HOME-1', env)).toBe('/home/u.txt /home/u-1');
  });

  it('returns text without $ unchanged', () => {
    expect(expandOsEnv('plain text', env)).toBe('plain text');
    expect(expandOsEnv('', env)).toBe('');
  });
});
