// A small jq-path evaluator for `${NAME.path}` references. Dagu runs the path through gojq; the
// paths people write are plain member and index lookups, which this covers. Anything else is
// reported as not evaluable, and the reference is then left as written (what Dagu does when gojq
// cannot parse or run the path).

type PathStep = { kind: 'key'; key: string } | { kind: 'index'; index: number };

export interface JsonPathResult {
  /** false when the path is not supported syntax or does not fit the value's type. */
  found: boolean;
  /** The selected value; null for a missing key or index (jq semantics). */
  value: unknown;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*/;
const INTEGER = /^-?[0-9]+/;

/** Reads a JSON string literal starting at `start` (a `"`); returns it and the index after it. */
function readStringLiteral(path: string, start: number): { text: string; end: number } | undefined {
  for (let i = start + 1; i < path.length; i++) {
    if (path[i] === '\\') {
      i++;
      continue;
    }
    if (path[i] === '"') {
      try {
        return { text: JSON.parse(path.slice(start, i + 1)) as string, end: i + 1 };
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** `[0]`, `[-1]` or `["key"]` starting at `start` (the `[`). */
function readBracket(path: string, start: number): { step: PathStep; end: number } | undefined {
  let i = start + 1;
  while (path[i] === ' ') i++;
  let step: PathStep;
  if (path[i] === '"') {
    const literal = readStringLiteral(path, i);
    if (!literal) return undefined;
    step = { kind: 'key', key: literal.text };
    i = literal.end;
  } else {
    const digits = INTEGER.exec(path.slice(i))?.[0];
    if (digits === undefined) return undefined;
    step = { kind: 'index', index: Number(digits) };
    i += digits.length;
  }
  while (path[i] === ' ') i++;
  return path[i] === ']' ? { step, end: i + 1 } : undefined;
}

/** `.a.b[0]."k"` → steps; undefined when the text is not in the supported subset. */
function parsePath(path: string): PathStep[] | undefined {
  if (path === '.') return [];
  const steps: PathStep[] = [];
  let i = 0;
  while (i < path.length) {
    if (path[i] === '[' && i > 0) {
      const bracket = readBracket(path, i);
      if (!bracket) return undefined;
      steps.push(bracket.step);
      i = bracket.end;
      continue;
    }
    if (path[i] !== '.') return undefined;
    i++;
    if (path[i] === '[') continue; // `.[0]` and `.a.[0]`
    if (path[i] === '"') {
      const literal = readStringLiteral(path, i);
      if (!literal) return undefined;
      steps.push({ kind: 'key', key: literal.text });
      i = literal.end;
      continue;
    }
    const name = IDENTIFIER.exec(path.slice(i))?.[0];
    if (name === undefined) return undefined;
    steps.push({ kind: 'key', key: name });
    i += name.length;
  }
  return steps;
}

function applyStep(value: unknown, step: PathStep): JsonPathResult {
  if (value === null) return { found: true, value: null }; // jq: null.a and null[0] are null
  if (step.kind === 'key') {
    if (typeof value !== 'object' || Array.isArray(value))
      return { found: false, value: undefined };
    return {
      found: true,
      value: Object.hasOwn(value, step.key) ? (value as Record<string, unknown>)[step.key] : null,
    };
  }
  if (!Array.isArray(value)) return { found: false, value: undefined };
  const index = step.index < 0 ? value.length + step.index : step.index;
  return {
    found: true,
    value: index >= 0 && index < value.length ? (value[index] as unknown) : null,
  };
}

/** Runs a jq-style path (`.a.b`, `.a[0]`, `.a[-1]`, `.["k"]`, `."k"`) over a parsed JSON value. */
export function evaluateJsonPath(value: unknown, path: string): JsonPathResult {
  const steps = parsePath(path);
  if (!steps) return { found: false, value: undefined };
  let current: JsonPathResult = { found: true, value };
  for (const step of steps) {
    current = applyStep(current.value, step);
    if (!current.found) return current;
  }
  return current;
}

/**
 * dagu-ts formatting of a selected value (dag-yaml.md Part A #5): strings raw, numbers as JavaScript prints
 * them, booleans as words, null/missing as empty, arrays and objects as compact JSON.
 */
export function formatJsonValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}
