import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createShellRunner } from '../eval/shell-runner.js';
import { formatParamsList } from './format.js';
import { resolveParams, type ResolveParamsOptions } from './resolve.js';
import type { ParamsDefinition } from './types.js';

function setup(
  extra: Record<string, string> = {},
): ResolveParamsOptions & { env: Map<string, string> } {
  const env = new Map(Object.entries({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra }));
  return { env, runShell: createShellRunner({ shell: 'sh', env }) };
}

const c18: ParamsDefinition = { form: 'string', text: 'alpha GREETING=hi beta' };

async function paramsList(
  defaults: ParamsDefinition | undefined,
  overrides?: { text?: string; argv?: readonly string[] },
  options = setup(),
): Promise<string[]> {
  return formatParamsList((await resolveParams(defaults, overrides, options)).params);
}

describe('resolveParams: defaults', () => {
  it('numbers positional params by their index among all tokens (C18)', async () => {
    const options = setup();
    const { params, defaultParams } = await resolveParams(c18, undefined, options);
    expect(formatParamsList(params)).toEqual(['1=alpha', 'GREETING=hi', '3=beta']);
    expect(defaultParams).toBe('"alpha" GREETING="hi" "beta"');
  });

  it('exports params into the env: named by name, every token under its position', async () => {
    const options = setup();
    await resolveParams({ form: 'string', text: 'a K=v b' }, undefined, options);
    expect(options.env.get('K')).toBe('v');
    expect(options.env.get('1')).toBe('a');
    expect(options.env.get('2')).toBe('K=v');
    expect(options.env.get('3')).toBe('b');
  });

  it('lets string-form params see earlier ones and the env', async () => {
    expect(
      await paramsList(
        { form: 'string', text: 'P1=foo P2=${P1}-$E' },
        undefined,
        setup({ E: 'env' }),
      ),
    ).toEqual(['P1=foo', 'P2=foo-env']);
  });

  it('does not let list-form pairs see their siblings (QUIRK), but they see the env', async () => {
    const def: ParamsDefinition = {
      form: 'list',
      items: [
        { name: 'P1', value: 'foo' },
        { name: 'P2', value: '[${P1}]' },
        { name: 'P3', value: '$E' },
      ],
    };
    expect(await paramsList(def, undefined, setup({ E: 'env' }))).toEqual([
      'P1=foo',
      'P2=[]',
      'P3=env',
    ]);
  });

  it('lets a plain string in the list see earlier list entries (expanded at export time)', async () => {
    const def: ParamsDefinition = {
      form: 'list',
      items: [{ name: 'P1', value: 'foo' }, 'P2=${P1} pos'],
    };
    expect(await paramsList(def)).toEqual(['P1=foo', 'P2=foo', '3=pos']);
  });

  it('expands list-form pair values a second time on export (Dagu does both)', async () => {
    const def: ParamsDefinition = { form: 'list', items: [{ name: 'V', value: '$E' }] };
    expect(await paramsList(def, undefined, setup({ E: '$F', F: 'deep' }))).toEqual(['V=deep']);
    expect(
      await paramsList({ form: 'string', text: 'V=$E' }, undefined, setup({ E: '$F', F: 'deep' })),
    ).toEqual(['V=$F']);
  });

  it('runs backticks in quoted and backtick values, never in bare ones', async () => {
    const def: ParamsDefinition = {
      form: 'string',
      text: 'C=$(echo 3) A="x `echo 1` y" B=`echo 2`',
    };
    expect(await paramsList(def)).toEqual(['C=$(echo', '2=3)', 'A=x 1 y', 'B=2']);
    expect(await paramsList({ form: 'string', text: '`echo pos`' })).toEqual(['1=pos']);
  });

  it('treats two backtick values on one line as one token (Dagu regex QUIRK)', async () => {
    expect(await paramsList({ form: 'string', text: 'X=`echo a` Y=`echo b`' })).toEqual([
      'X=a Y=b',
    ]);
  });

  it('runs backticks in list-form pair values', async () => {
    const def: ParamsDefinition = {
      form: 'list',
      items: [{ name: 'T', value: '`printf abc | wc -c | tr -d " "`' }],
    };
    expect(await paramsList(def)).toEqual(['T=3']);
  });

  it('runs all backticks of a parse before exporting any of its params', async () => {
    const def: ParamsDefinition = { form: 'string', text: 'A=1 B="`echo [$A]`" C=$A' };
    expect(await paramsList(def)).toEqual(['A=1', 'B=[]', 'C=1']);
  });

  it('expands the command text before running it', async () => {
    const def: ParamsDefinition = { form: 'string', text: 'X="`printf \'%s\' $E`"' };
    expect(await paramsList(def, undefined, setup({ E: 'from-env' }))).toEqual(['X=from-env']);
  });

  it('rejects when a backtick command fails', async () => {
    await expect(
      resolveParams({ form: 'string', text: 'X=`exit 5`' }, undefined, setup()),
    ).rejects.toThrow(/exit code 5/);
    await expect(
      resolveParams(
        { form: 'list', items: [{ name: 'Y', value: '`exit 6`' }] },
        undefined,
        setup(),
      ),
    ).rejects.toThrow(/Y.*exit code 6/);
  });

  it('quotes default values in defaultParams with Go %q after evaluation', async () => {
    const def: ParamsDefinition = {
      form: 'list',
      items: [{ name: 'P1', value: 'foo' }, { name: 'P2', value: 'a "b"' }, 'pos'],
    };
    const { defaultParams } = await resolveParams(def, undefined, setup());
    expect(defaultParams).toBe('P1="foo" P2="a \\"b\\"" "pos"');
  });

  it('returns nothing without params', async () => {
    expect(await resolveParams(undefined, undefined, setup())).toEqual({
      params: [],
      defaultParams: '',
      untrusted: new Set(),
    });
  });
});

describe('resolveParams: overrides', () => {
  it('replaces named params in place and appends new positional ones (C18b, argv)', async () => {
    const options = setup();
    const { params, defaultParams } = await resolveParams(
      c18,
      { argv: ['GREETING=yo', 'omega'] },
      options,
    );
    expect(formatParamsList(params)).toEqual(['1=alpha', 'GREETING=yo', '3=beta', '2=omega']);
    expect(defaultParams).toBe('"alpha" GREETING="hi" "beta"');
    // Go re-exports positions of the override parse too.
    expect(options.env.get('GREETING')).toBe('yo');
    expect(options.env.get('1')).toBe('GREETING=yo');
    expect(options.env.get('2')).toBe('omega');
    expect(options.env.get('3')).toBe('beta');
  });

  it('gives the same result for the -p text (C18b)', async () => {
    expect(await paramsList(c18, { text: 'GREETING=yo omega' })).toEqual([
      '1=alpha',
      'GREETING=yo',
      '3=beta',
      '2=omega',
    ]);
  });

  it('replaces a positional default with the override of the same number', async () => {
    expect(await paramsList({ form: 'string', text: 'a b c' }, { argv: ['x', 'y'] })).toEqual([
      '1=x',
      '2=y',
      '3=c',
    ]);
  });

  it('numbers argv tokens across elements and re-tokenises each element', async () => {
    expect(await paramsList(undefined, { argv: ['a', 'K=v', 'b'] })).toEqual(['1=a', 'K=v', '3=b']);
    expect(await paramsList(undefined, { argv: ['B=x y'] })).toEqual(['B=x', '2=y']);
    expect(await paramsList(undefined, { argv: ['B="x y"'] })).toEqual(['B=x y']);
  });

  it('appends unknown names and applies -p text before argv', async () => {
    expect(
      await paramsList({ form: 'string', text: 'A=1' }, { text: 'A=2 NEW=n', argv: ['A=3'] }),
    ).toEqual(['A=3', 'NEW=n']);
  });

  it('lets overrides see the defaults through the env', async () => {
    expect(
      await paramsList({ form: 'string', text: 'BASE=/srv' }, { text: 'DIR=${BASE}/app' }),
    ).toEqual(['BASE=/srv', 'DIR=/srv/app']);
  });

  it('evaluates default backticks even when the default is overridden', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagu-params-'));
    const marker = join(dir, 'default-ran');
    const def: ParamsDefinition = { form: 'string', text: `X="\`touch ${marker}; echo d\`"` };
    expect(await paramsList(def, { text: 'X=o' })).toEqual(['X=o']);
    expect(existsSync(marker)).toBe(true);
  });

  it('takes remote overrides as data: no backticks, no env expansion (dag-yaml.md Part A #10)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dagu-params-'));
    const marker = join(dir, 'pwned');
    const options = setup({ E: 'env' });
    const def: ParamsDefinition = { form: 'string', text: 'D="`echo default`" K=keep' };
    const { params, untrusted } = await resolveParams(
      def,
      { text: `X="\`touch ${marker}\`" Y=\`touch ${marker}\` Z=$E D=api`, source: 'remote' },
      options,
    );
    expect(formatParamsList(params)).toEqual([
      'D=api',
      'K=keep',
      `X=\`touch ${marker}\``,
      `Y=\`touch ${marker}\``,
      'Z=$E',
    ]);
    expect(existsSync(marker)).toBe(false);
    expect([...untrusted].sort()).toEqual(['D', 'X', 'Y', 'Z']);
    expect(options.env.get('Z')).toBe('$E');
  });

  it('never expands a remote override against the environment (server secrets)', async () => {
    const options = setup({ DAGU_AUTH_JWT_SECRET: 's3cret', HOME: '/home/u' });
    const { params } = await resolveParams(
      undefined,
      { text: 'X=${DAGU_AUTH_JWT_SECRET} Y="$HOME"', source: 'remote' },
      options,
    );
    expect(formatParamsList(params)).toEqual(['X=${DAGU_AUTH_JWT_SECRET}', 'Y=$HOME']);
  });

  it('gives untrusted positional params a name a shell can expand', async () => {
    const options = setup();
    const { params, untrusted } = await resolveParams(
      undefined,
      { text: '"a;b"', source: 'remote' },
      options,
    );
    expect(formatParamsList(params)).toEqual(['1=a;b']);
    expect([...untrusted]).toEqual(['1']);
    expect(options.env.get('DAGU_PARAM_1')).toBe('a;b');
  });

  it('refuses remote params that change how programs run, unless the DAG declares them', async () => {
    for (const name of ['PATH', 'LD_PRELOAD', 'BASH_ENV', 'SHELL', 'DAGU_DEFAULT_SHELL']) {
      await expect(
        resolveParams(undefined, { text: `${name}=/tmp/x`, source: 'remote' }, setup()),
      ).rejects.toThrow(`${name} cannot be set through the API`);
    }
    const declared: ParamsDefinition = { form: 'string', text: 'PATH=/usr/bin' };
    const { params } = await resolveParams(
      declared,
      { text: 'PATH=/opt/bin', source: 'remote' },
      setup(),
    );
    expect(formatParamsList(params)).toEqual(['PATH=/opt/bin']);
  });

  it('re-uses recorded params literally and keeps their untrusted names', async () => {
    const options = setup({ E: 'env' });
    const def: ParamsDefinition = { form: 'string', text: 'A=default B=b' };
    const { params, untrusted } = await resolveParams(
      def,
      { recorded: { paramsList: ['A=$E `x`', 'B=b" C="c', '3=pos'], untrusted: ['A'] } },
      options,
    );
    expect(formatParamsList(params)).toEqual(['A=$E `x`', 'B=b" C="c', '3=pos']);
    expect([...untrusted]).toEqual(['A']);
  });

  it('lets a local override make a remote name trusted again', async () => {
    const { untrusted } = await resolveParams(
      undefined,
      { recorded: { paramsList: ['A=1'], untrusted: ['A'] }, text: 'A=2' },
      setup(),
    );
    expect(untrusted.size).toBe(0);
  });

  it('runs backticks of CLI overrides by default', async () => {
    expect(await paramsList(undefined, { text: 'X="`echo cli`"' })).toEqual(['X=cli']);
  });

  it('ignores empty overrides', async () => {
    expect(await paramsList(c18, { text: '', argv: [] })).toEqual([
      '1=alpha',
      'GREETING=hi',
      '3=beta',
    ]);
  });
});
