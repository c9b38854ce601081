import { mkdtemp, realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createShellRunner, shellArgv } from './shell-runner.js';

const baseEnv = (extra: Record<string, string> = {}): Map<string, string> =>
  new Map(Object.entries({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra }));

describe('shellArgv', () => {
  it('appends -c and the command', () => {
    expect(shellArgv('sh', 'echo hi')).toEqual(['sh', '-c', 'echo hi']);
    expect(shellArgv('bash -o pipefail', 'x')).toEqual(['bash', '-o', 'pipefail', '-c', 'x']);
  });

  it('does not add a second -c', () => {
    expect(shellArgv('bash -e -c', 'x')).toEqual(['bash', '-e', '-c', 'x']);
  });
});

describe('createShellRunner', () => {
  it('resolves with the raw stdout', async () => {
    const run = createShellRunner({ shell: 'sh', env: baseEnv() });
    expect(await run("printf '  a b\\n\\n'")).toBe('  a b\n\n');
  });

  it('uses the environment map, not process.env, read at call time', async () => {
    const env = baseEnv({ GREETING: 'hello' });
    const run = createShellRunner({ shell: 'sh', env });
    expect(await run('echo "$GREETING-${DAGU_TS_UNSET_VAR}"')).toBe('hello-\n');
    env.set('GREETING', 'later');
    expect(await run('echo "$GREETING"')).toBe('later\n');
  });

  it('rejects on a non-zero exit with the command, exit code and stderr', async () => {
    const run = createShellRunner({ shell: 'sh', env: baseEnv() });
    await expect(run('echo oops >&2; exit 3')).rejects.toThrow(
      /echo oops >&2; exit 3.*exit code 3.*oops/s,
    );
  });

  it('splits a shell string with arguments', async () => {
    const plain = createShellRunner({ shell: 'bash', env: baseEnv() });
    const strict = createShellRunner({ shell: 'bash -o pipefail', env: baseEnv() });
    expect(await plain('false | true; echo ok')).toBe('ok\n');
    await expect(strict('false | true')).rejects.toThrow(/exit code 1/);
  });

  it('defaults to DAGU_DEFAULT_SHELL, then SHELL, then sh', async () => {
    const probe = 'if [ -n "$BASH_VERSION" ]; then echo bash; else echo other; fi';
    expect(
      await createShellRunner({ env: baseEnv({ DAGU_DEFAULT_SHELL: 'bash', SHELL: 'sh' }) })(probe),
    ).toBe('bash\n');
    expect(await createShellRunner({ env: baseEnv({ SHELL: 'bash' }) })(probe)).toBe('bash\n');
    expect(await createShellRunner({ env: baseEnv({ SHELL: 'sh' }) })(probe)).toBe('other\n');
    expect(await createShellRunner({ env: baseEnv() })(probe)).toBe('other\n');
  });

  it('runs in the given working directory', async () => {
    const dir = await realpath(await mkdtemp(join(tmpdir(), 'dagu-runner-')));
    expect(await createShellRunner({ shell: 'sh', env: baseEnv(), cwd: dir })('pwd')).toBe(
      `${dir}\n`,
    );
  });

  it('closes stdin so a reading command does not hang', async () => {
    expect(
      await createShellRunner({ shell: 'sh', env: baseEnv(), timeoutMs: 5000 })('cat; echo done'),
    ).toBe('done\n');
  });

  it('kills the whole process group on timeout', async () => {
    const run = createShellRunner({ shell: 'sh', env: baseEnv(), timeoutMs: 300 });
    const started = Date.now();
    await expect(run('sleep 20 & sleep 20; echo never')).rejects.toThrow(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects when the shell cannot be started', async () => {
    const run = createShellRunner({ shell: '/nonexistent/dagu-shell', env: baseEnv() });
    await expect(run('echo hi')).rejects.toThrow(/\/nonexistent\/dagu-shell/);
  });
});
