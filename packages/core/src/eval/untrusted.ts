// Values from a remote caller (params given through the REST API, and what is derived from them
// for a child run) are data, never code (api-v2.md Part A #6). While a string is evaluated they
// sit behind placeholders that no later stage can read — not the other variable maps, not the
// backtick stage, not env expansion — and go back in at the end in a form that fits where the
// string is going. A trusted value (DAG defaults, env, outputs) is substituted as Dagu does.

/** Where an evaluated string goes; it decides how an untrusted value is put back. */
export type EvalTarget =
  /** Parsed by a shell (a step's command or script, a command-form condition). */
  | 'shell'
  /** Used as a value: a path, a URL, a condition's value, an argv word without a shell. */
  | 'text'
  /** A child run's params string (`KEY="value" …`), parsed again with the params grammar. */
  | 'params';

// A value that no shell reads as anything but itself, in any quoting context, including inside
// a nested `sh -c '…'`. Such values are pasted exactly as Dagu pastes them.
const INERT = /^[\p{L}\p{N}_ .,:/@%+=-]*$/u;
const IDENTIFIER = /^[A-Za-z_]\w*$/;
const SLOT = /\uE000(\d+)\uE001/g;

/**
 * The environment variable through which a shell reads untrusted param `name`: the param's own
 * name, or `DAGU_PARAM_<name>` for a positional one (`1`), which no shell can name.
 */
export function shellVariableFor(name: string): string | undefined {
  if (IDENTIFIER.test(name)) return name;
  return /^\w+$/.test(name) ? `DAGU_PARAM_${name}` : undefined;
}

interface Slot {
  name: string;
  value: string;
  /** The whole variable (`$X`), not a JSON path into it (`${X.key}`). */
  whole: boolean;
}

/** The untrusted values met during one evaluation. */
export class UntrustedValues {
  private readonly slots: Slot[] = [];

  constructor(private readonly names: ReadonlySet<string>) {}

  has(name: string): boolean {
    return this.names.has(name);
  }

  /** A placeholder that stands for `value` until `restore`. */
  hold(name: string, value: string, whole: boolean): string {
    this.slots.push({ name, value, whole });
    return `\uE000${this.slots.length - 1}\uE001`;
  }

  /** `env` as env expansion should see it: untrusted names resolve to placeholders. */
  shield(env: ReadonlyMap<string, string>): Pick<ReadonlyMap<string, string>, 'get'> {
    return {
      get: (name) => {
        const value = env.get(name);
        return value !== undefined && this.has(name) ? this.hold(name, value, true) : value;
      },
    };
  }

  /** Puts the values back in place of their placeholders, in the form `target` needs. */
  restore(text: string, target: EvalTarget): string {
    if (this.slots.length === 0) return text;
    return text.replace(SLOT, (match, index: string) => {
      const slot = this.slots[Number(index)];
      return slot ? insert(slot, target) : match;
    });
  }
}

function insert({ name, value, whole }: Slot, target: EvalTarget): string {
  if (target === 'text') return value;
  // The child parses `KEY="…"` again (and treats what it gets as data): keep the quotes whole.
  if (target === 'params') return value.replaceAll('"', '\\"');
  if (INERT.test(value)) return value;
  // Anything else is left for the shell to expand from the step's environment, where the param
  // is exported: a variable expansion is never parsed as code, at any nesting depth.
  const variable = whole ? shellVariableFor(name) : undefined;
  if (variable !== undefined) return `\${${variable}}`;
  throw new Error(
    `the API param ${name} holds shell syntax and cannot be pasted into a shell command` +
      (whole ? '' : `; use $${name} and extract the field in the command`),
  );
}
