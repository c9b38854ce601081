import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateString, type EvalContext } from './evaluate.js';
import type { StepIdInfo } from './references.js';
import { createShellRunner } from './shell-runner.js';

const PATH = process.env.PATH ?? '/usr/bin:/bin';

function context(
  overrides: Partial<EvalContext> & { vars?: Array<Record<string, string>> } = {},
): EvalContext {
  const { vars = [], ...rest } = overrides;
  const env = rest.env ?? new Map([['PATH', PATH]]);
  return {
    maps: vars.map((entries) => new Map(Object.entries(entries))),
    env,
    backticks: false,
    osEnv: false,
    runShell: createShellRunner({ shell: 'sh', env }),
    ...rest,
  };
}

const CONFIG = '{"server":{"port":8080,"host":"localhost"},"big":1500000,"tags":["a","b"]}';

describe('evaluateString: plain references', () => {
  it('replaces ${NAME} and $NAME from a map', async () => {
    expect(await evaluateString('${A}-$A-$B', context({ vars: [{ A: '1', B: '2' }] }))).toBe(
      '1-1-2',
    );
  });

  it('leaves unknown names for later stages and the shell', async () => {
    expect(
      await evaluateString('$A $UNKNOWN ${ALSO_UNKNOWN} $1', context({ vars: [{ A: 'x' }] })),
    ).toBe('x $UNKNOWN ${ALSO_UNKNOWN} $1');
  });

  it('lets the first map that knows a name win', async () => {
    const ctx = context({ vars: [{ X: 'param' }, { X: 'step' }, { X: 'output', Y: 'y' }] });
    expect(await evaluateString('$X ${X} $Y', ctx)).toBe('param param y');
  });

  it('lets later maps substitute inside values inserted by earlier ones', async () => {
    expect(await evaluateString('$A', context({ vars: [{ A: 'has $B' }, { B: 'inner' }] }))).toBe(
      'has inner',
    );
  });

  it('leaves single-quoted references alone', async () => {
    const ctx = context({ vars: [{ X: 'v' }] });
    expect(await evaluateString("echo '$X' '${X}' \"$X\"", ctx)).toBe("echo '$X' '${X}' \"v\"");
  });

  it('also leaves a reference with a quote on one side only (QUIRK)', async () => {
    const ctx = context({ vars: [{ X: 'v' }] });
    expect(await evaluateString("'$X ${X}' $X' '${X} $X", ctx)).toBe("'$X ${X}' $X' '${X} v");
  });

  it('uses anything up to } as a braced name', async () => {
    expect(await evaluateString('${A B}', context({ vars: [{ 'A B': 'spaced' }] }))).toBe('spaced');
  });

  it('returns the empty string for empty input', async () => {
    expect(await evaluateString('', context({ vars: [{ A: '1' }], osEnv: true }))).toBe('');
  });
});

describe('evaluateString: JSON paths and step ids', () => {
  it('formats the C17 command like dagu-ts (dag-yaml.md Part A #5)', async () => {
    const stepIds = new Map<string, StepIdInfo>([
      ['cfg', { stdout: '/logs/cfg.out', stderr: '/logs/cfg.err', exitCode: 0 }],
    ]);
    const ctx = context({
      vars: [{ DAG_NAME: 'c17' }, { DAG_RUN_STEP_NAME: 'use-config' }, { CONFIG }],
      stepIds,
    });
    const command =
      '${CONFIG.server.host}:${CONFIG.server.port} big=${CONFIG.big} tags=${CONFIG.tags} missing=${CONFIG.nope} rc=${cfg.exitCode}';
    expect(await evaluateString(command, ctx)).toBe(
      'localhost:8080 big=1500000 tags=["a","b"] missing= rc=0',
    );
  });

  it('reads bare $NAME.path up to the next whitespace', async () => {
    const ctx = context({ vars: [{ CONFIG }] });
    expect(await evaluateString('host=$CONFIG.server.host port=$CONFIG.server.port', ctx)).toBe(
      'host=localhost port=8080',
    );
  });

  it('leaves a bare path it cannot evaluate, then replaces the plain name (Dagu behaviour)', async () => {
    const ctx = context({ vars: [{ CONFIG: '{"a":1}' }] });
    expect(await evaluateString('"$CONFIG.a"', ctx)).toBe('"{"a":1}.a"');
  });

  it('treats a value that is not JSON as a plain variable followed by text', async () => {
    const ctx = context({ vars: [{ FILE: 'report' }] });
    expect(await evaluateString('$FILE.txt ${FILE}.csv', ctx)).toBe('report.txt report.csv');
  });

  it('looks the name up in the environment when the map lacks it', async () => {
    const env = new Map([['SETTINGS', '{"mode":"fast"}']]);
    expect(await evaluateString('${SETTINGS.mode}', context({ vars: [{ OTHER: 'x' }], env }))).toBe(
      'fast',
    );
  });

  it('keeps JSON-path references that fail to evaluate', async () => {
    const ctx = context({ vars: [{ N: '42' }] });
    expect(await evaluateString('${N.x}', ctx)).toBe('${N.x}');
  });

  it('resolves step-id properties', async () => {
    const stepIds = new Map<string, StepIdInfo>([
      ['build', { stdout: '/l/b.out', stderr: '/l/b.err', exitCode: 2 }],
    ]);
    const ctx = context({ vars: [{}], stepIds });
    expect(
      await evaluateString(
        '${build.stdout} ${build.stderr} ${build.exitCode} ${build.exit_code} $build.stdout',
        ctx,
      ),
    ).toBe('/l/b.out /l/b.err 2 2 /l/b.out');
  });

  it('keeps stdout/stderr references whose path is empty, and unknown properties', async () => {
    const stepIds = new Map<string, StepIdInfo>([['s', { stdout: '', exitCode: 0 }]]);
    const ctx = context({ vars: [{}], stepIds });
    expect(await evaluateString('${s.stdout}|${s.stderr}|${s.output}|${s.exitCode}', ctx)).toBe(
      '${s.stdout}|${s.stderr}|${s.output}|0',
    );
  });

  it('prefers a JSON variable over a step id of the same name', async () => {
    const stepIds = new Map<string, StepIdInfo>([['s', { stdout: '/l/s.out' }]]);
    const ctx = context({ vars: [{ s: '{"stdout":"from-json"}' }], stepIds });
    expect(await evaluateString('${s.stdout}', ctx)).toBe('from-json');
  });

  it('resolves step ids even without variable maps', async () => {
    const stepIds = new Map<string, StepIdInfo>([['s', { exitCode: 7 }]]);
    expect(await evaluateString('${s.exitCode} $X', context({ stepIds }))).toBe('7 $X');
  });
});

describe('evaluateString: backticks and OS env stages', () => {
  it('runs backticks after variables when enabled', async () => {
    const ctx = context({ vars: [{ WHO: 'world' }], backticks: true });
    expect(await evaluateString('hello `echo ${WHO}`', ctx)).toBe('hello world');
  });

  it('executes backticks that came from a variable value (same as Dagu)', async () => {
    const ctx = context({ vars: [{ CMD: '`echo ran`' }], backticks: true });
    expect(await evaluateString('$CMD', ctx)).toBe('ran');
  });

  it('leaves backticks alone when disabled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagu-eval-'));
    const marker = join(dir, 'marker');
    expect(await evaluateString(`\`touch ${marker}\``, context())).toBe(`\`touch ${marker}\``);
    expect(existsSync(marker)).toBe(false);
  });

  it('rejects when a backtick command fails', async () => {
    await expect(evaluateString('x `exit 9`', context({ backticks: true }))).rejects.toThrow(
      /x `exit 9`.*exit code 9/,
    );
  });

  it('expands the remaining names from the environment when osEnv is on (unknown → empty)', async () => {
    const env = new Map([
      ['PATH', PATH],
      ['BASE', '/srv'],
    ]);
    const ctx = context({ vars: [{ A: 'a' }], env, osEnv: true });
    expect(await evaluateString('$A $BASE/x ${MISSING}|', ctx)).toBe('a /srv/x |');
  });

  it('applies OS env expansion to backtick output', async () => {
    const env = new Map([
      ['PATH', PATH],
      ['Y', 'expanded'],
    ]);
    const ctx = context({ env, backticks: true, osEnv: true });
    expect(await evaluateString("`printf '%s' '$Y'`", ctx)).toBe('expanded');
  });

  it('creates a default runner on the environment when none is given', async () => {
    const env = new Map([
      ['PATH', PATH],
      ['SHELL', 'sh'],
      ['GREETING', 'hey'],
    ]);
    const ctx: EvalContext = { maps: [], env, backticks: true, osEnv: false };
    expect(await evaluateString('`echo $GREETING`', ctx)).toBe('hey');
  });
});
