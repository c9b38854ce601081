// The .env file format as Dagu reads it (github.com/joho/godotenv v1.5.1): KEY=VALUE or
// KEY: VALUE lines, optional `export `, `#` comments, 'single' quotes taken literally,
// "double" quotes with \n, \r and backslash escapes, and $VAR / ${VAR} expansion of values
// defined earlier in the same file only.
import { GO_SPACE_CLASS } from '../eval/go-text.js';

// godotenv's own notion of space: no line breaks.
const INLINE_SPACE = new Set(['\t', '\v', '\f', '\r', ' ', '\u0085', '\u00a0']);
const LEADING_INLINE_SPACE = /^[\t\v\f\r \u0085\u00a0]+/;
const TRAILING_INLINE_SPACE = /[\t\v\f\r \u0085\u00a0]+$/;
const FIRST_NON_SPACE = new RegExp(`[^${GO_SPACE_CLASS}]`);
const TRAILING_SPACE = new RegExp(`[${GO_SPACE_CLASS}]+$`);
const KEY_CHAR = /^[\p{L}\p{N}._]$/u;
const EXPAND_VAR = /(\\)?(\$)(\()?\{?([A-Z0-9_]+)?\}?/g;

function isInlineSpace(char: string | undefined): boolean {
  return char !== undefined && INLINE_SPACE.has(char);
}

/** Skips blank space and comment lines; undefined at the end of the input. */
function statementStart(src: string): string | undefined {
  let rest = src;
  for (;;) {
    const start = rest.search(FIRST_NON_SPACE);
    if (start === -1) return undefined;
    rest = rest.slice(start);
    if (!rest.startsWith('#')) return rest;
    const lineEnd = rest.indexOf('\n');
    if (lineEnd === -1) return undefined;
    rest = rest.slice(lineEnd);
  }
}

function locateKey(statement: string): { key: string; rest: string } {
  let src = statement.replace(LEADING_INLINE_SPACE, '');
  if (src.startsWith('export') && isInlineSpace(src[6]))
    src = src.slice(6).replace(LEADING_INLINE_SPACE, '');
  let key = '';
  let valueStart = 0;
  for (let i = 0; i < src.length; i++) {
    const char = src[i] ?? '';
    if (isInlineSpace(char)) continue;
    if (char === '=' || char === ':') {
      key = src.slice(0, i);
      valueStart = i + 1;
      break;
    }
    if (!KEY_CHAR.test(char)) {
      throw new Error(
        `unexpected character ${JSON.stringify(char)} in variable name near ${JSON.stringify(src)}`,
      );
    }
  }
  if (src.length === 0) throw new Error('zero length string');
  return {
    key: key.replace(TRAILING_SPACE, ''),
    rest: src.slice(valueStart).replace(LEADING_INLINE_SPACE, ''),
  };
}

function expandVariables(value: string, vars: ReadonlyMap<string, string>): string {
  return value.replace(
    EXPAND_VAR,
    (match: string, escape?: string, _dollar?: string, paren?: string, name?: string) => {
      if (escape === '\\' || paren === '(') return match.slice(1);
      if (name) return vars.get(name) ?? '';
      return match;
    },
  );
}

/** Double-quote escapes: \n and \r become line breaks, other backslashes are dropped (except before $). */
function expandEscapes(value: string): string {
  const lineBreaks = value.replace(/\\[^\n]/g, (match) =>
    match === '\\n' ? '\n' : match === '\\r' ? '\r' : match,
  );
  return lineBreaks.replace(/\\([^$])/g, '$1');
}

function trimChar(value: string, char: string): string {
  let start = 0;
  let end = value.length;
  while (end > start && value[end - 1] === char) end--;
  while (start < end && value[start] === char) start++;
  return value.slice(start, end);
}

function unquotedValue(
  src: string,
  vars: ReadonlyMap<string, string>,
): { value: string; rest: string | undefined } {
  const lineEndMatch = /[\n\r]/.exec(src);
  const lineEnd = lineEndMatch ? lineEndMatch.index : src.length;
  if (lineEnd === 0) return { value: '', rest: lineEndMatch ? src : undefined };
  const line = src.slice(0, lineEnd);
  // The last ` #` on the line starts a comment.
  let valueEnd = line.length;
  for (let i = line.length - 1; i > 0; i--) {
    if (line[i] === '#' && isInlineSpace(line[i - 1])) {
      valueEnd = i;
      break;
    }
  }
  const trimmed = line
    .slice(0, valueEnd)
    .replace(LEADING_INLINE_SPACE, '')
    .replace(TRAILING_INLINE_SPACE, '');
  return { value: expandVariables(trimmed, vars), rest: src.slice(lineEnd) };
}

function quotedValue(
  src: string,
  quote: string,
  vars: ReadonlyMap<string, string>,
): { value: string; rest: string } {
  for (let i = 1; i < src.length; i++) {
    if (src[i] !== quote || src[i - 1] === '\\') continue;
    const inner = trimChar(src.slice(0, i), quote);
    const value = quote === '"' ? expandVariables(expandEscapes(inner), vars) : inner;
    return { value, rest: src.slice(i + 1) };
  }
  const lineEnd = src.indexOf('\n');
  throw new Error(`unterminated quoted value ${lineEnd === -1 ? src : src.slice(0, lineEnd)}`);
}

/** Parses .env text into its variables, in file order. Throws on a syntax error. */
export function parseDotenv(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  let rest: string | undefined = text.replaceAll('\r\n', '\n');
  for (;;) {
    const statement = statementStart(rest ?? '');
    if (statement === undefined) break;
    const { key, rest: afterKey } = locateKey(statement);
    const first = afterKey[0];
    const parsed =
      first === '"' || first === "'"
        ? quotedValue(afterKey, first, vars)
        : unquotedValue(afterKey, vars);
    // A line without `=` yields an empty key, which no environment can hold; skip it.
    if (key !== '') vars.set(key, parsed.value);
    rest = parsed.rest;
  }
  return vars;
}
