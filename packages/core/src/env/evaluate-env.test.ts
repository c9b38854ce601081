import { describe, expect, it } from 'vitest';
import { createShellRunner } from '../eval/shell-runner.js';
import { resolveParams } from '../params/resolve.js';
import { evaluateEnvEntries } from './evaluate-env.js';

function setup(extra: Record<string, string> = {}): {
  env: Map<string, string>;
  runShell: ReturnType<typeof createShellRunner>;
} {
  const env = new Map(Object.entries({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra }));
  return { env, runShell: createShellRunner({ shell: 'sh', env }) };
}

describe('evaluateEnvEntries', () => {
  it('evaluates in order, later entries seeing earlier ones, backticks included (C19)', async () => {
    const { env, runShell } = setup();
    const entries = [
      { key: 'BASE', value: '/tmp/corpus' },
      { key: 'FULL', value: '${BASE}/data' },
      { key: 'LEN', value: "`printf abc | wc -c | tr -d ' '`" },
    ];
    expect(await evaluateEnvEntries(entries, env, runShell)).toEqual([
      { key: 'BASE', value: '/tmp/corpus' },
      { key: 'FULL', value: '/tmp/corpus/data' },
      { key: 'LEN', value: '3' },
    ]);
    expect(env.get('FULL')).toBe('/tmp/corpus/data');
    expect(env.get('LEN')).toBe('3');
  });

  it('lets backtick commands see earlier entries through the environment', async () => {
    const { env, runShell } = setup();
    const result = await evaluateEnvEntries(
      [
        { key: 'NAME', value: 'dagu' },
        { key: 'UPPER', value: '`echo $NAME | tr a-z A-Z`' },
      ],
      env,
      runShell,
    );
    expect(result[1]).toEqual({ key: 'UPPER', value: 'DAGU' });
  });

  it('cannot see params, which are resolved after env (C20)', async () => {
    const { env, runShell } = setup();
    const dagEnv = await evaluateEnvEntries([{ key: 'E', value: 'x${P}y' }], env, runShell);
    const { params } = await resolveParams(
      { form: 'list', items: [{ name: 'P', value: 'fromparam' }] },
      undefined,
      { env, runShell },
    );
    expect(dagEnv).toEqual([{ key: 'E', value: 'xy' }]);
    expect(params).toEqual([{ name: 'P', value: 'fromparam' }]);
    expect(env.get('E')).toBe('xy');
    expect(env.get('P')).toBe('fromparam');
  });

  it('reads the starting environment and expands unknown names to empty', async () => {
    const { env, runShell } = setup({ HOME: '/home/u' });
    expect(
      await evaluateEnvEntries(
        [{ key: 'CACHE', value: '$HOME/.cache${NOPE}:${X:-d}' }],
        env,
        runShell,
      ),
    ).toEqual([{ key: 'CACHE', value: '/home/u/.cache:' }]);
  });

  it('keeps one entry per key: first position, last value', async () => {
    const { env, runShell } = setup();
    const entries = [
      { key: 'A', value: '1' },
      { key: 'B', value: '$A' },
      { key: 'A', value: '2' },
    ];
    expect(await evaluateEnvEntries(entries, env, runShell)).toEqual([
      { key: 'A', value: '2' },
      { key: 'B', value: '1' },
    ]);
  });

  it('evaluates step-level env against a copy without touching the run env', async () => {
    const { env, runShell } = setup({ BASE: '/srv' });
    const stepEnv = new Map(env);
    expect(
      await evaluateEnvEntries([{ key: 'DIR', value: '$BASE/step' }], stepEnv, runShell),
    ).toEqual([{ key: 'DIR', value: '/srv/step' }]);
    expect(stepEnv.get('DIR')).toBe('/srv/step');
    expect(env.has('DIR')).toBe(false);
  });

  it('rejects with the key when a backtick command fails', async () => {
    const { env, runShell } = setup();
    await expect(
      evaluateEnvEntries([{ key: 'BAD', value: '`exit 2`' }], env, runShell),
    ).rejects.toThrow(/BAD.*exit code 2/);
    expect(env.has('BAD')).toBe(false);
  });
});
