// `-p` accepts Dagu's two forms: `K=v "positional" …` text, or a JSON object
// (`-p '{"REGION":"us"}'`), turned into text by the same rule as the REST API's `params`.
import { paramsText, type ParamsOverride } from '@dagu-ts/core';

/** The params of a command line; throws for a JSON object with an invalid parameter name. */
export function cliParams(text: string | undefined, argv: readonly string[]): ParamsOverride {
  return { text: paramsText(text), argv };
}
