import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateString, type EvalContext } from './evaluate.js';
import { createShellRunner } from './shell-runner.js';
import type { EvalTarget } from './untrusted.js';

const work = mkdtempSync(join(tmpdir(), 'dagu-untrusted-'));
const marker = join(work, 'pwned');
afterAll(() => rmSync(work, { recursive: true, force: true }));

function context(
  vars: Record<string, string>,
  target: EvalTarget,
  options: { backticks?: boolean; osEnv?: boolean; untrusted?: string[] } = {},
): EvalContext {
  const env = new Map([['PATH', process.env.PATH ?? '/usr/bin:/bin'], ...Object.entries(vars)]);
  return {
    maps: [new Map(Object.entries(vars))],
    env,
    backticks: options.backticks ?? true,
    osEnv: options.osEnv ?? false,
    runShell: createShellRunner({ shell: 'sh', env }),
    untrusted: new Set(options.untrusted ?? Object.keys(vars)),
    target,
  };
}

describe('untrusted values in evaluateString', () => {
  it('pastes ordinary values exactly as Dagu does', async () => {
    const ctx = context({ X: 'prod eu-1', N: '42' }, 'shell');
    expect(await evaluateString('echo $X "${N}" \'v $X here\'', ctx)).toBe(
      'echo prod eu-1 "42" \'v prod eu-1 here\'',
    );
  });

  it('leaves a value with shell syntax to the shell, as a variable expansion', async () => {
    const ctx = context({ X: '$(touch /tmp/x); `id` | a && b\n"\'' }, 'shell');
    expect(await evaluateString(`echo $X "\${X}" sh -c 'echo "$X"'`, ctx)).toBe(
      `echo \${X} "\${X}" sh -c 'echo "\${X}"'`,
    );
  });

  it('never runs backticks that come from an untrusted value', async () => {
    const ctx = context({ X: `\`touch ${marker}\`` }, 'text');
    expect(await evaluateString('value: $X', ctx)).toBe(`value: \`touch ${marker}\``);
    expect(existsSync(marker)).toBe(false);
  });

  it("still runs the DAG author's own backticks around an untrusted value", async () => {
    const ctx = context({ X: 'a;b' }, 'text');
    expect(await evaluateString('`echo hi` $X', ctx)).toBe('hi a;b');
  });

  it('hides untrusted values from later maps and from env expansion', async () => {
    const ctx: EvalContext = {
      ...context({ X: '$HOME ${Y}' }, 'text', { osEnv: true }),
      maps: [new Map([['X', '$HOME ${Y}']]), new Map([['Y', 'later']])],
    };
    (ctx.env as Map<string, string>).set('HOME', '/home/u');
    expect(await evaluateString('$X', ctx)).toBe('$HOME ${Y}');
  });

  it('shields untrusted names during env expansion too', async () => {
    const ctx = context({ X: '"q"' }, 'params', { osEnv: true });
    // '$X' touching quotes is left by stage 1 (QUIRK) and reaches env expansion.
    expect(await evaluateString(`A="'$X'" B="$X"`, ctx)).toBe(`A="'\\"q\\"'" B="\\"q\\""`);
  });

  it('escapes quotes for a child params string', async () => {
    const ctx = context({ X: 'a" B="`touch x`' }, 'params');
    expect(await evaluateString('P="$X"', ctx)).toBe('P="a\\" B=\\"`touch x`"');
  });

  it('names positional untrusted params through their shell alias', async () => {
    const ctx = context({ '1': 'a;b' }, 'shell');
    expect(await evaluateString('echo $1', ctx)).toBe('echo ${DAGU_PARAM_1}');
  });

  it('refuses a JSON path into an untrusted value that holds shell syntax', async () => {
    const ctx = context({ J: '{"a":"$(id)","b":"ok"}' }, 'shell');
    expect(await evaluateString('echo ${J.b}', ctx)).toBe('echo ok');
    await expect(evaluateString('echo ${J.a}', ctx)).rejects.toThrow('holds shell syntax');
    const text = context({ J: '{"a":"$(id)"}' }, 'text');
    expect(await evaluateString('${J.a}', text)).toBe('$(id)');
  });

  it('keeps trusted values as they are', async () => {
    const ctx = context({ T: '$(echo code)' }, 'shell', { untrusted: [] });
    expect(await evaluateString('echo $T', ctx)).toBe('echo $(echo code)');
  });
});
