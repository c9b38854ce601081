// The params string grammar of dag-yaml.md §3.5, with Dagu's own token regex.

export interface ParamToken {
  /** undefined for a positional token. */
  name: string | undefined;
  /** Double-quoted: quotes stripped and `\"` unescaped; backtick-quoted: backticks kept. */
  value: string;
  quoting: 'double' | 'backtick' | 'bare';
}

// [NAME=]VALUE, VALUE = "…" (with \" inside) | `…` | a run of non-space, non-quote characters.
// Go's \s is [\t\n\f\r ], spelled out because JavaScript's \s is wider.
const PARAM_TOKEN = /(?:([^\t\n\f\r =]+)=)?("(?:\\"|[^"])*"|`(?:\\"|[^"]*)`|[^"\t\n\f\r ]+)/g;

/**
 * Go strings.Trim(value, `"`): removes every leading and trailing quote, not just one pair
 * (QUIRK: `"\"hi\""` becomes `"hi\`).
 */
function trimQuotes(value: string): string {
  return value.replace(/^"+|"+$/g, '');
}

export function tokenizeParamString(text: string): ParamToken[] {
  const tokens: ParamToken[] = [];
  for (const match of text.matchAll(PARAM_TOKEN)) {
    const raw = match[2] ?? '';
    const name = match[1];
    if (raw.startsWith('"')) {
      tokens.push({ name, value: trimQuotes(raw).replaceAll('\\"', '"'), quoting: 'double' });
    } else {
      // A bare value can start with an unclosed backtick; Dagu then treats it like a backtick value.
      tokens.push({ name, value: raw, quoting: raw.startsWith('`') ? 'backtick' : 'bare' });
    }
  }
  return tokens;
}
