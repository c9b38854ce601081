// The run-time environment of a DAG run, built the way Dagu builds it when a run starts
// (dag-yaml.md §0 build order): DAG `env` first, then `params` (with overrides), then `dotenv`.
// Everything lands in a per-run map that stands in for the engine's process env; the real
// process.env is never touched.
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import type { Dag } from '../dag/model.js';
import { loadDotenvFiles, evaluateEnvEntries, type EnvEntry } from '../env/index.js';
import { createShellRunner, type ShellRunner } from '../eval/index.js';
import { formatParamsList, resolveParams, type ParamEntry } from '../params/index.js';

export interface ParamsOverride {
  /** `-p 'K=v …'` or the API's params string. */
  text?: string | undefined;
  /** Arguments after `--`, each parsed with the params grammar and numbered across all. */
  argv?: readonly string[] | undefined;
}

export interface PrepareRunEnvironmentOptions {
  params?: ParamsOverride;
  /** The engine's environment the run starts from (default: process.env). */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** false for parameters that came through the REST API: their backticks are not executed. */
  overrideBackticks?: boolean;
  /** Working directory for backtick commands (default: process.cwd()). */
  cwd?: string;
}

export interface RunEnvironment {
  /** The run's "process env": base env + exported env, params and dotenv values. */
  env: Map<string, string>;
  /** DAG env entries after evaluation, in order. */
  dagEnv: EnvEntry[];
  params: ParamEntry[];
  /** `NAME=value` per param (positional as `1=value`). */
  paramsList: string[];
  /** Defaults re-joined with quoting, e.g. `P1="foo" P2="bar"`. */
  defaultParams: string;
  dotenvFiles: string[];
  runShell: ShellRunner;
}

export async function prepareRunEnvironment(
  dag: Dag,
  options: PrepareRunEnvironmentOptions = {},
): Promise<RunEnvironment> {
  const env = new Map<string, string>();
  for (const [key, value] of Object.entries(options.baseEnv ?? process.env)) {
    if (value !== undefined) env.set(key, value);
  }
  const shell = dag.shell ?? env.get('DAGU_DEFAULT_SHELL') ?? env.get('SHELL') ?? 'sh';
  const runShell = createShellRunner({ shell, env, cwd: options.cwd ?? process.cwd() });
  const dagEnv = await evaluateEnvEntries(dag.env, env, runShell);
  const { params, defaultParams } = await resolveParams(dag.params, options.params, {
    env,
    runShell,
    backticks: options.overrideBackticks ?? true,
  });
  const dotenvFiles = await loadDotenvFiles(dag.dotenv, {
    env,
    runShell,
    homeDir: env.get('HOME') ?? homedir(),
    ...(dag.location ? { dagDir: dirname(dag.location) } : {}),
  });
  return {
    env,
    dagEnv,
    params,
    paramsList: formatParamsList(params),
    defaultParams,
    dotenvFiles,
    runShell,
  };
}
