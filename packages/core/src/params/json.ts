// Dagu's two forms of a params string: `K=v "positional" …` text, or a JSON object of named
// params (`{"REGION":"us"}`), which becomes `REGION="us"` text. The REST API and the CLI's `-p`
// share this one rule, so a run started either way gets the same params.
import { DaguError } from '../errors.js';

const PARAM_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * `params` as Dagu's parameter string: a JSON object string becomes its entries as `K="v"`;
 * anything else (including text that only starts with `{`) is already one and passes as is.
 * Blank → undefined. Throws `bad_request` for a JSON key that cannot be a parameter name.
 */
export function paramsText(params: string | undefined): string | undefined {
  if (params === undefined) return undefined;
  const trimmed = params.trim();
  if (trimmed === '') return undefined;
  if (!trimmed.startsWith('{')) return params;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return params; // not JSON: a parameter string that happens to start with "{"
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return params;
  const entries = Object.entries(parsed as Record<string, unknown>).map(([name, value]) => {
    if (!PARAM_NAME.test(name))
      throw new DaguError('bad_request', `params: invalid parameter name ${JSON.stringify(name)}`);
    const text =
      typeof value === 'string'
        ? value
        : value === null
          ? ''
          : typeof value === 'object'
            ? JSON.stringify(value)
            : String(value);
    return `${name}="${text.replace(/"/g, '\\"')}"`;
  });
  return entries.length > 0 ? entries.join(' ') : undefined;
}
