// `-p` accepts Dagu's two forms: `K=v "positional" …` text, or a JSON object
// (`-p '{"REGION":"us"}'`). A JSON object becomes `K="v"` text exactly as the REST API turns its
// JSON `params` into text, so a run started either way gets the same parameters.
import type { ParamsOverride } from '@dagu-ts/core';

/** The API's rule for a parameter name in a JSON object. */
const PARAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The params of a command line; throws for a JSON object with an invalid parameter name. */
export function cliParams(text: string | undefined, argv: readonly string[]): ParamsOverride {
  return { text: text === undefined ? undefined : jsonParamsText(text), argv };
}

/** `text` itself unless it is a JSON object; then its entries as `K="v"` text. */
export function jsonParamsText(text: string): string | undefined {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return text; // not JSON: a parameter string that happens to start with "{"
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return text;
  const entries = Object.entries(parsed as Record<string, unknown>).map(([name, value]) => {
    if (!PARAM_NAME.test(name))
      throw new Error(`params: invalid parameter name ${JSON.stringify(name)}`);
    const valueText =
      typeof value === 'string'
        ? value
        : value === null
          ? ''
          : typeof value === 'object'
            ? JSON.stringify(value)
            : String(value);
    return `${name}="${valueText.replace(/"/g, '\\"')}"`;
  });
  return entries.length > 0 ? entries.join(' ') : undefined;
}
