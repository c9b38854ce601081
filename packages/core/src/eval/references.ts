// Stage 1 of the substitution pipeline (dag-yaml.md §3.1): Dagu variable references, resolved
// against one variable map at a time.
import { evaluateJsonPath, formatJsonValue } from './json-path.js';
import type { UntrustedValues } from './untrusted.js';

/** What `${id.stdout}`, `${id.stderr}` and `${id.exitCode}` resolve to for a step with an id. */
export interface StepIdInfo {
  stdout?: string;
  stderr?: string;
  exitCode?: number;
}

// `${NAME.path}` (path up to `}`) or bare `$NAME.path` (path up to whitespace). Go's \s is
// [\t\n\f\r ], narrower than JavaScript's, hence the explicit class.
const PATH_REFERENCE = /\$\{([A-Za-z0-9_]\w*)(\.[^}]+)\}|\$([A-Za-z0-9_]\w*)(\.[^\t\n\f\r ]+)/g;

// `${NAME}` or `$NAME`, each optionally touching a single quote on either side. The quotes are
// part of the match so that '$X' can be left alone; a quote on one side only ends up inside the
// key, so the lookup fails and the reference is left alone too (the one-sided QUIRK).
const PLAIN_REFERENCE = /'?\$\{([^}]+)\}'?|'?\$([a-zA-Z0-9_]+)'?/g;

function stepProperty(info: StepIdInfo | undefined, path: string): string | undefined {
  if (!info) return undefined;
  switch (path) {
    case '.stdout':
      return info.stdout || undefined; // an empty path keeps the reference as written
    case '.stderr':
      return info.stderr || undefined;
    case '.exitCode':
    case '.exit_code':
      return String(info.exitCode ?? 0);
    default:
      return undefined;
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * Resolves JSON-path and step-property references. NAME is looked up in `vars`, then in the
 * run's environment; a name that is neither (or whose value is not JSON) may be a step id.
 * What is selected from an untrusted value is held back as data.
 */
export function expandPathReferences(
  text: string,
  vars: ReadonlyMap<string, string>,
  env: ReadonlyMap<string, string>,
  stepIds: ReadonlyMap<string, StepIdInfo> | undefined,
  untrusted?: UntrustedValues,
): string {
  return text.replace(
    PATH_REFERENCE,
    (
      match: string,
      bracedName?: string,
      bracedPath?: string,
      bareName?: string,
      barePath?: string,
    ) => {
      const name = bracedName ?? bareName ?? '';
      const path = bracedPath ?? barePath ?? '';
      const fromStep = (): string => stepProperty(stepIds?.get(name), path) ?? match;
      const raw = vars.get(name) ?? env.get(name);
      if (raw === undefined) return fromStep();
      const json = parseJson(raw);
      if (!json.ok) return fromStep();
      const selected = evaluateJsonPath(json.value, path);
      // Like a gojq parse or type error: leave the reference as written.
      if (!selected.found) return match;
      const value = formatJsonValue(selected.value);
      return untrusted?.has(name) ? untrusted.hold(name, value, false) : value;
    },
  );
}

/**
 * Replaces `${NAME}` / `$NAME` for names present in `vars`; other names are left untouched.
 * Untrusted values are held back as data.
 */
export function replacePlainReferences(
  text: string,
  vars: ReadonlyMap<string, string>,
  untrusted?: UntrustedValues,
): string {
  return text.replace(PLAIN_REFERENCE, (match: string) => {
    if (match.startsWith("'") && match.endsWith("'")) return match;
    const key = match.startsWith('${') ? match.slice(2, -1) : match.slice(1);
    const value = vars.get(key);
    if (value === undefined) return match;
    return untrusted?.has(key) ? untrusted.hold(key, value, true) : value;
  });
}
