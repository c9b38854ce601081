import { describe, expect, it } from 'vitest';
import { substituteBackticks } from './backticks.js';
import { createShellRunner, type ShellRunner } from './shell-runner.js';

const env = new Map(Object.entries({ PATH: process.env.PATH ?? '/usr/bin:/bin', WHO: 'world' }));
const sh = createShellRunner({ shell: 'sh', env });

function recordingRunner(): { run: ShellRunner; commands: string[] } {
  const commands: string[] = [];
  return {
    commands,
    run: (command) => {
      commands.push(command);
      return Promise.resolve(`<${command}>`);
    },
  };
}

describe('substituteBackticks', () => {
  it('replaces each command with its trimmed stdout', async () => {
    expect(await substituteBackticks('a `echo hi` b', sh)).toBe('a hi b');
    expect(await substituteBackticks("[`printf '  x y \\n\\n'`]", sh)).toBe('[x y]');
    expect(await substituteBackticks('`echo 1`-`echo 2`', sh)).toBe('1-2');
  });

  it('runs commands with the run environment', async () => {
    expect(await substituteBackticks('hello `echo $WHO`', sh)).toBe('hello world');
  });

  it('keeps internal newlines of the output', async () => {
    expect(await substituteBackticks('`printf "a\\nb\\n"`', sh)).toBe('a\nb');
  });

  it('rejects when a command fails', async () => {
    await expect(substituteBackticks('x `exit 4` y', sh)).rejects.toThrow(/exit code 4/);
  });

  it('keeps an escaped backtick literally', async () => {
    const { run, commands } = recordingRunner();
    expect(await substituteBackticks('a \\` b', run)).toBe('a \\` b');
    expect(commands).toEqual([]);
  });

  it('passes an escaped backtick inside a command on to the shell', async () => {
    const { run, commands } = recordingRunner();
    expect(await substituteBackticks('`echo \\`date\\``', run)).toBe('<echo \\`date\\`>');
    expect(commands).toEqual(['echo \\`date\\`']);
  });

  it('keeps an empty pair and an unclosed backtick', async () => {
    const { run, commands } = recordingRunner();
    expect(await substituteBackticks('a `` b', run)).toBe('a `` b');
    expect(await substituteBackticks('a `echo b', run)).toBe('a `echo b');
    expect(await substituteBackticks('tail`', run)).toBe('tail`');
    expect(commands).toEqual([]);
  });

  it('returns text without backticks untouched and runs nothing', async () => {
    const { run, commands } = recordingRunner();
    expect(await substituteBackticks('$(echo no)', run)).toBe('$(echo no)');
    expect(commands).toEqual([]);
  });
});
