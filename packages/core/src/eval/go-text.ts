// Small helpers that reproduce Go string functions Dagu relies on, so trimmed command output
// and parsed values match byte for byte.

/** Characters Go's unicode.IsSpace accepts (JavaScript's \s differs: it has U+FEFF, lacks U+0085). */
export const GO_SPACE_CLASS =
  '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const GO_SPACE_EDGES = new RegExp(`^[${GO_SPACE_CLASS}]+|[${GO_SPACE_CLASS}]+$`, 'g');

/** Go strings.TrimSpace. */
export function trimGoSpace(text: string): string {
  return text.replace(GO_SPACE_EDGES, '');
}
