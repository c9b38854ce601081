// The three-stage substitution pipeline of dag-yaml.md §3.1.
import { substituteBackticks } from './backticks.js';
import { expandOsEnv } from './expand-os-env.js';
import { expandPathReferences, replacePlainReferences, type StepIdInfo } from './references.js';
import { createShellRunner, type ShellRunner } from './shell-runner.js';
import { UntrustedValues, type EvalTarget } from './untrusted.js';

export interface EvalContext {
  /** Variable maps in priority order (run vars, step vars, outputs); the first that knows a name wins. */
  maps: ReadonlyArray<ReadonlyMap<string, string>>;
  /** Steps that have an `id`, for `${id.stdout}`, `${id.stderr}`, `${id.exitCode}`. */
  stepIds?: ReadonlyMap<string, StepIdInfo>;
  /** The run's environment (stands in for the engine's process env). */
  env: ReadonlyMap<string, string>;
  /** Stage 2: run `` `cmd` `` substitutions. */
  backticks: boolean;
  /** Stage 3: expand the remaining `$VAR` from `env` (unknown → empty). */
  osEnv: boolean;
  /** Runs backtick commands; default: the default shell with `env`. */
  runShell?: ShellRunner;
  /**
   * Names whose values came from a remote caller (API params), in any map or in `env`: they are
   * data, never read by a later stage, and put back in the form `target` needs.
   */
  untrusted?: ReadonlySet<string>;
  /** Where the result goes (default 'shell', the safe choice for an untrusted value). */
  target?: EvalTarget;
}

const NO_VARS: ReadonlyMap<string, string> = new Map();

export async function evaluateString(text: string, ctx: EvalContext): Promise<string> {
  if (text === '') return '';
  const untrusted = ctx.untrusted?.size ? new UntrustedValues(ctx.untrusted) : undefined;
  let value = text;
  if (ctx.maps.length === 0) {
    // Without maps Dagu still resolves step-id references (and JSON paths into the env).
    if (ctx.stepIds) value = expandPathReferences(value, NO_VARS, ctx.env, ctx.stepIds, untrusted);
  } else {
    for (const vars of ctx.maps) {
      value = expandPathReferences(value, vars, ctx.env, ctx.stepIds, untrusted);
      value = replacePlainReferences(value, vars, untrusted);
    }
  }
  if (ctx.backticks) {
    const runShell = ctx.runShell ?? createShellRunner({ env: ctx.env });
    try {
      value = await substituteBackticks(value, runShell);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`failed to substitute commands in "${text}": ${reason}`, { cause: error });
    }
  }
  if (ctx.osEnv) value = expandOsEnv(value, untrusted ? untrusted.shield(ctx.env) : ctx.env);
  return untrusted ? untrusted.restore(value, ctx.target ?? 'shell') : value;
}
