import { quoteGo } from './go-quote.js';
import { tokenizeParamString } from './tokenize.js';
import type { ParamEntry, ParamsDefinition } from './types.js';

/** `NAME=value` per parameter (positional ones as `1=value`), as persisted in `paramsList`. */
export function formatParamsList(params: readonly ParamEntry[]): string[] {
  return params.map((param) => `${param.name}=${param.value}`);
}

/** `NAME="value"` (Go %q), or just `"value"` for a positional parameter. */
export function quoteParam(name: string | undefined, value: string): string {
  return name === undefined ? quoteGo(value) : `${name}=${quoteGo(value)}`;
}

/**
 * A `run:` step's params normalised at load time, unevaluated (no backticks, no env), to the
 * `KEY="value" …` string the child receives (dag-yaml.md §2.5): `WHO=world` → `WHO="world"`.
 */
export function quoteParamsForChild(def: ParamsDefinition): string {
  const items = def.form === 'string' ? [def.text] : def.items;
  return items
    .flatMap((item) =>
      typeof item === 'string'
        ? tokenizeParamString(item).map((token) => quoteParam(token.name, token.value))
        : [quoteParam(item.name, item.value)],
    )
    .join(' ');
}
