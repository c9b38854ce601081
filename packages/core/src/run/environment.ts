// The run-time environment of a DAG run, built the way Dagu builds it when a run starts
// (dag-yaml.md §0 build order): DAG `env` first, then `params` (with overrides), then `dotenv`.
// Everything lands in a per-run map that stands in for the engine's process env; the real
// process.env is never touched, and the server's own secrets are never in the map.
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import type { Dag } from '../dag/model.js';
import {
  loadDotenvFiles,
  evaluateEnvEntries,
  scrubServerSecrets,
  type EnvEntry,
} from '../env/index.js';
import { createShellRunner, type ShellRunner } from '../eval/index.js';
import {
  formatParamsList,
  resolveParams,
  type ParamEntry,
  type ParamsOverrides,
} from '../params/index.js';

/** Params given when a run starts: CLI `-p`/`--`, the API's params string, or a recorded list. */
export type ParamsOverride = ParamsOverrides;

export interface PrepareRunEnvironmentOptions {
  params?: ParamsOverride;
  /** The engine's environment the run starts from (default: process.env), minus server secrets. */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** Working directory for backtick commands (default: process.cwd()). */
  cwd?: string;
}

export interface RunEnvironment {
  /** The run's "process env": base env + exported env, params and dotenv values. */
  env: Map<string, string>;
  /** DAG env entries after evaluation, in order. */
  dagEnv: EnvEntry[];
  params: ParamEntry[];
  /** Names of params whose values came from a remote caller: data, never shell syntax. */
  untrusted: Set<string>;
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
  // The one place where a run's environment is taken from the engine's: whatever the caller
  // passes, the server's secrets stay out (params, env expansion, backticks and steps see this).
  const env = new Map(Object.entries(scrubServerSecrets(options.baseEnv ?? process.env)));
  const shell = dag.shell ?? env.get('DAGU_DEFAULT_SHELL') ?? env.get('SHELL') ?? 'sh';
  const runShell = createShellRunner({ shell, env, cwd: options.cwd ?? process.cwd() });
  const dagEnv = await evaluateEnvEntries(dag.env, env, runShell);
  const { params, defaultParams, untrusted } = await resolveParams(dag.params, options.params, {
    env,
    runShell,
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
    untrusted,
    paramsList: formatParamsList(params),
    defaultParams,
    dotenvFiles,
    runShell,
  };
}
