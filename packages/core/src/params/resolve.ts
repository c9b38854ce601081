// Parameter resolution at load time (dag-yaml.md §3.5 and §0): evaluate the defaults, parse the
// overrides, export everything into the run's environment the way Dagu's os.Setenv calls do,
// and merge.
import { substituteBackticks } from '../eval/backticks.js';
import { expandOsEnv } from '../eval/expand-os-env.js';
import { trimGoSpace } from '../eval/go-text.js';
import type { ShellRunner } from '../eval/shell-runner.js';
import { shellVariableFor } from '../eval/untrusted.js';
import { quoteParam } from './format.js';
import { tokenizeParamString, type ParamToken } from './tokenize.js';
import type { ParamEntry, ParamsDefinition } from './types.js';

export interface ResolveParamsOptions {
  /** The run's environment: params are exported into it as they are resolved. */
  env: Map<string, string>;
  runShell: ShellRunner;
}

export interface ParamsOverrides {
  /** `-p 'K=v …'` text. */
  text?: string | undefined;
  /** Arguments after `--`; each is parsed with the string grammar, numbered across all of them. */
  argv?: readonly string[] | undefined;
  /**
   * Who wrote `text` and `argv`. `local` (default): the engine's own user (CLI), with Dagu's
   * backticks and env expansion. `remote`: a caller of the REST API (or the SDK, remote CLI):
   * the values are data, taken as written (Part A #10) and never pasted as shell syntax.
   */
  source?: 'local' | 'remote' | undefined;
  /**
   * The params of an earlier run as it recorded them (`NAME=value`), re-used as they are by a
   * queued run, a retry or a restart; `untrusted` names stay data, as when they first came in.
   */
  recorded?: { paramsList: readonly string[]; untrusted?: readonly string[] | undefined };
}

export interface ResolvedParams {
  params: ParamEntry[];
  defaultParams: string;
  /** Names of the params whose values came from a remote caller. */
  untrusted: Set<string>;
}

/** A parameter after its own evaluation, before env expansion and export. */
interface PendingParam {
  name: string | undefined;
  value: string;
  /** Data taken as written: no env expansion when exported. */
  literal?: boolean;
}

// Environment variables that change how the shell or other programs run: a remote caller may
// not introduce them (a DAG that declares one as a param opts in).
const RUNTIME_VARIABLES = new Set([
  'PATH',
  'IFS',
  'ENV',
  'BASH_ENV',
  'SHELL',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'CDPATH',
  'GLOBIGNORE',
  'DAGU_DEFAULT_SHELL',
  'NODE_OPTIONS',
  'PYTHONPATH',
  'PYTHONSTARTUP',
  'PERL5OPT',
  'PERL5LIB',
  'RUBYOPT',
  'GCONV_PATH',
]);
const RUNTIME_PREFIXES = ['LD_', 'DYLD_', 'BASH_FUNC_'];

function isRuntimeVariable(name: string): boolean {
  return RUNTIME_VARIABLES.has(name) || RUNTIME_PREFIXES.some((p) => name.startsWith(p));
}

const BACKTICK_COMMAND = /`[^`]*`/g;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Commands inside a quoted param value: each is env-expanded, then run (Dagu's param parser). */
async function runQuotedCommands(
  value: string,
  env: ReadonlyMap<string, string>,
  runShell: ShellRunner,
): Promise<string> {
  let out = '';
  let copiedUpTo = 0;
  for (const match of value.matchAll(BACKTICK_COMMAND)) {
    out += value.slice(copiedUpTo, match.index);
    const command = expandOsEnv(match[0].slice(1, -1), env);
    // `sh -c ""` prints nothing, so an empty pair simply disappears.
    if (command !== '') out += trimGoSpace(await runShell(command));
    copiedUpTo = match.index + match[0].length;
  }
  return out + value.slice(copiedUpTo);
}

async function evaluateToken(
  token: ParamToken,
  env: ReadonlyMap<string, string>,
  runShell: ShellRunner,
  literal: boolean,
): Promise<PendingParam> {
  if (literal) return { name: token.name, value: token.value, literal };
  if (token.quoting === 'bare') return { name: token.name, value: token.value };
  try {
    return { name: token.name, value: await runQuotedCommands(token.value, env, runShell) };
  } catch (error) {
    throw new Error(`params: invalid value ${JSON.stringify(token.value)}: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

/** The string grammar: all tokens are evaluated (backticks) before any of them is exported. */
async function evaluateStringForm(
  text: string,
  env: ReadonlyMap<string, string>,
  runShell: ShellRunner,
  literal: boolean,
): Promise<PendingParam[]> {
  const pending: PendingParam[] = [];
  for (const token of tokenizeParamString(text))
    pending.push(await evaluateToken(token, env, runShell, literal));
  return pending;
}

/**
 * List-form name/value pairs get backticks and env expansion before any sibling is exported, so
 * they cannot see each other (QUIRK); plain strings in the list use the string grammar.
 */
async function evaluateDefaults(
  defaults: ParamsDefinition | undefined,
  env: ReadonlyMap<string, string>,
  runShell: ShellRunner,
): Promise<PendingParam[]> {
  if (!defaults) return [];
  if (defaults.form === 'string') return evaluateStringForm(defaults.text, env, runShell, false);
  const pending: PendingParam[] = [];
  for (const item of defaults.items) {
    if (typeof item === 'string') {
      pending.push(...(await evaluateStringForm(item, env, runShell, false)));
      continue;
    }
    try {
      pending.push({
        name: item.name,
        value: expandOsEnv(await substituteBackticks(item.value, runShell), env),
      });
    } catch (error) {
      throw new Error(`params: invalid value for ${item.name}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }
  return pending;
}

/**
 * Expands each value against the env and exports it before the next one, as Dagu does: every
 * parameter under its 1-based position (`NAME=value` for named ones, Go's value), named ones
 * also under their name. Positional parameters are named by that position.
 */
function exportParams(pending: readonly PendingParam[], env: Map<string, string>): ParamEntry[] {
  return pending.map(({ name, value, literal }, index) => {
    const expanded = literal ? value : expandOsEnv(value, env);
    const position = String(index + 1);
    env.set(position, name === undefined ? expanded : `${name}=${expanded}`);
    if (name !== undefined) env.set(name, expanded);
    return { name: name ?? position, value: expanded };
  });
}

/**
 * A name already present is replaced in place; anything else is appended (positional by
 * number). A replaced value is untrusted exactly when its override is.
 */
function mergeOverrides(
  params: ParamEntry[],
  overrides: readonly ParamEntry[],
  untrusted: Set<string>,
  remote: boolean,
): void {
  const indexByName = new Map<string, number>();
  params.forEach((param, index) => indexByName.set(param.name, index));
  for (const override of overrides) {
    const index = indexByName.get(override.name);
    if (index === undefined) params.push(override);
    else params[index] = override;
    if (remote) untrusted.add(override.name);
    else untrusted.delete(override.name);
  }
}

/** The override sources in Dagu's order: the `-p` text, then the arguments after `--`. */
function overrideGroups(overrides: ParamsOverrides | undefined): string[][] {
  const groups: string[][] = [];
  if (overrides?.text) groups.push([overrides.text]);
  if (overrides?.argv && overrides.argv.length > 0) groups.push([...overrides.argv]);
  return groups;
}

/** `NAME=value` entries as recorded by a run, back into literal params. */
function recordedParams(paramsList: readonly string[]): PendingParam[] {
  return paramsList.map((entry) => {
    const eq = entry.indexOf('=');
    return { name: entry.slice(0, eq), value: entry.slice(eq + 1), literal: true };
  });
}

export async function resolveParams(
  defaults: ParamsDefinition | undefined,
  overrides: ParamsOverrides | undefined,
  options: ResolveParamsOptions,
): Promise<ResolvedParams> {
  const { env, runShell } = options;
  const pendingDefaults = await evaluateDefaults(defaults, env, runShell);
  const params = exportParams(pendingDefaults, env);
  const defaultParams = pendingDefaults
    .map((param, index) => quoteParam(param.name, params[index]?.value ?? ''))
    .join(' ');
  const declared = new Set(params.map((param) => param.name));
  const untrusted = new Set<string>();

  if (overrides?.recorded) {
    const recorded = exportParams(recordedParams(overrides.recorded.paramsList), env);
    mergeOverrides(params, recorded, untrusted, false);
    for (const name of overrides.recorded.untrusted ?? []) untrusted.add(name);
  }
  const remote = overrides?.source === 'remote';
  for (const group of overrideGroups(overrides)) {
    const pending: PendingParam[] = [];
    for (const text of group)
      pending.push(...(await evaluateStringForm(text, env, runShell, remote)));
    const entries = exportParams(pending, env);
    if (remote) {
      const forbidden = entries.find((p) => isRuntimeVariable(p.name) && !declared.has(p.name));
      if (forbidden)
        throw new Error(
          `params: ${forbidden.name} cannot be set through the API: it changes how programs run`,
        );
    }
    mergeOverrides(params, entries, untrusted, remote);
  }
  exportShellAliases(params, untrusted, env);
  return { params, defaultParams, untrusted };
}

/** Untrusted positional params (`1`) also under a name a shell can expand (`DAGU_PARAM_1`). */
function exportShellAliases(
  params: readonly ParamEntry[],
  untrusted: ReadonlySet<string>,
  env: Map<string, string>,
): void {
  for (const { name, value } of params) {
    const variable = untrusted.has(name) ? shellVariableFor(name) : undefined;
    if (variable !== undefined && variable !== name) env.set(variable, value);
  }
}
