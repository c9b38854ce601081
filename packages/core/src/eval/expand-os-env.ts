// Go os.ExpandEnv, reproduced exactly: Dagu's last evaluation stage and its param expansion use
// it, so its odd corners (single-character special names, eaten `${}`) are observable.

// Go treats these as one-character names: `$10` is `$1` followed by "0".
const SPECIAL_NAMES = new Set([
  '*',
  '#',
  '$',
  '@',
  '!',
  '?',
  '-',
  '0',
  '1',
  '2',
  '3',
  '4',
  '5',
  '6',
  '7',
  '8',
  '9',
]);

function isNameChar(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9_]$/.test(char);
}

/**
 * Reads the variable name that follows a `$` at `start`. `width` is how many characters the
 * reference occupies after the `$`; an empty name with a width means bad syntax that Go drops.
 */
function readName(text: string, start: number): { name: string; width: number } {
  const first = text[start];
  if (first === '{') {
    const second = text[start + 1];
    if (second !== undefined && SPECIAL_NAMES.has(second) && text[start + 2] === '}') {
      return { name: second, width: 3 };
    }
    const close = text.indexOf('}', start + 1);
    if (close === -1) return { name: '', width: 1 }; // unterminated: Go eats "${"
    if (close === start + 1) return { name: '', width: 2 }; // Go eats "${}"
    return { name: text.slice(start + 1, close), width: close - start + 1 };
  }
  if (first !== undefined && SPECIAL_NAMES.has(first)) return { name: first, width: 1 };
  let end = start;
  while (isNameChar(text[end])) end++;
  return { name: text.slice(start, end), width: end - start };
}

/** `$NAME` / `${NAME}` replaced from `env`; unknown names become empty (Go os.ExpandEnv). */
export function expandOsEnv(text: string, env: Pick<ReadonlyMap<string, string>, 'get'>): string {
  let out = '';
  let copiedUpTo = 0;
  for (let dollar = 0; dollar < text.length; dollar++) {
    if (text[dollar] !== '$' || dollar + 1 >= text.length) continue;
    out += text.slice(copiedUpTo, dollar);
    const { name, width } = readName(text, dollar + 1);
    if (name !== '') out += env.get(name) ?? '';
    else if (width === 0) out += '$'; // `$` not followed by a name stays
    dollar += width;
    copiedUpTo = dollar + 1;
  }
  return copiedUpTo === 0 ? text : out + text.slice(copiedUpTo);
}
