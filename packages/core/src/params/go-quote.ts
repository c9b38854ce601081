// Go strconv.Quote (what `%q` prints), used where Dagu re-joins params as `KEY="value"`.

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

const NAMED_ESCAPES = new Map<string, string>([
  ['\u0007', '\\a'],
  ['\b', '\\b'],
  ['\f', '\\f'],
  ['\n', '\\n'],
  ['\r', '\\r'],
  ['\t', '\\t'],
  ['\v', '\\v'],
]);

function hex(value: number, width: number): string {
  return value.toString(16).padStart(width, '0');
}

function escapeRune(char: string): string {
  const named = NAMED_ESCAPES.get(char);
  if (named) return named;
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x20 || code === 0x7f) return `\\x${hex(code, 2)}`;
  if (code >= 0xd800 && code <= 0xdfff) return '\\ufffd'; // a lone surrogate is not valid UTF-8
  if (code < 0x10000) return `\\u${hex(code, 4)}`;
  return `\\U${hex(code, 8)}`;
}

export function quoteGo(text: string): string {
  let out = '"';
  for (const char of text) {
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (PRINTABLE.test(char)) out += char;
    else out += escapeRune(char);
  }
  return `${out}"`;
}
