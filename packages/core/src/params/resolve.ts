// Parameter resolution at load time (dag-yaml.md §3.5 and §0): evaluate the defaults, parse the
// overrides, export everything into the run's environment the way Dagu's os.Setenv calls do,
// and merge.
import { substituteBackticks } from '../eval/backticks.js';
import { expandOsEnv } from '../eval/expand-os-env.js';
import { trimGoSpace } from '../eval/go-text.js';
import type { ShellRunner } from '../eval/shell-runner.js';
import { quoteParam } from './format.js';
import { tokenizeParamString, type ParamToken } from './tokenize.js';
import type { ParamEntry, ParamsDefinition } from './types.js';

export interface ResolveParamsOptions {
  /** The run's environment: params are exported into it as they are resolved. */
  env: Map<string, string>;
  runShell: ShellRunner;
  /** false: backticks in override values stay literal (REST API, Part A #10). Defaults always run them. */
  backticks?: boolean;
}

export interface ParamsOverrides {
  /** `-p 'K=v …'` text. */
  text?: string | undefined;
  /** Arguments after `--`; each is parsed with the string grammar, numbered across all of them. */
  argv?: readonly string[] | undefined;
}

/** A parameter after its own evaluation, before env expansion and export. */
interface PendingParam {
  name: string | undefined;
  value: string;
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
  backticks: boolean,
): Promise<PendingParam> {
  if (token.quoting === 'bare' || !backticks) return { name: token.name, value: token.value };
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
  backticks: boolean,
): Promise<PendingParam[]> {
  const pending: PendingParam[] = [];
  for (const token of tokenizeParamString(text))
    pending.push(await evaluateToken(token, env, runShell, backticks));
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
  if (defaults.form === 'string') return evaluateStringForm(defaults.text, env, runShell, true);
  const pending: PendingParam[] = [];
  for (const item of defaults.items) {
    if (typeof item === 'string') {
      pending.push(...(await evaluateStringForm(item, env, runShell, true)));
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
  return pending.map(({ name, value }, index) => {
    const expanded = expandOsEnv(value, env);
    const position = String(index + 1);
    env.set(position, name === undefined ? expanded : `${name}=${expanded}`);
    if (name !== undefined) env.set(name, expanded);
    return { name: name ?? position, value: expanded };
  });
}

/** A name already present is replaced in place; anything else is appended (positional by number). */
function mergeOverrides(params: ParamEntry[], overrides: readonly ParamEntry[]): void {
  const indexByName = new Map<string, number>();
  params.forEach((param, index) => indexByName.set(param.name, index));
  for (const override of overrides) {
    const index = indexByName.get(override.name);
    if (index === undefined) params.push(override);
    else params[index] = override;
  }
}

/** The override sources in Dagu's order: the `-p` text, then the arguments after `--`. */
function overrideGroups(overrides: ParamsOverrides | undefined): string[][] {
  const groups: string[][] = [];
  if (overrides?.text) groups.push([overrides.text]);
  if (overrides?.argv && overrides.argv.length > 0) groups.push([...overrides.argv]);
  return groups;
}

export async function resolveParams(
  defaults: ParamsDefinition | undefined,
  overrides: ParamsOverrides | undefined,
  options: ResolveParamsOptions,
): Promise<{ params: ParamEntry[]; defaultParams: string }> {
  const { env, runShell } = options;
  const pendingDefaults = await evaluateDefaults(defaults, env, runShell);
  const params = exportParams(pendingDefaults, env);
  const defaultParams = pendingDefaults
    .map((param, index) => quoteParam(param.name, params[index]?.value ?? ''))
    .join(' ');

  const overrideBackticks = options.backticks ?? true;
  for (const group of overrideGroups(overrides)) {
    const pending: PendingParam[] = [];
    for (const text of group)
      pending.push(...(await evaluateStringForm(text, env, runShell, overrideBackticks)));
    mergeOverrides(params, exportParams(pending, env));
  }
  return { params, defaultParams };
}
