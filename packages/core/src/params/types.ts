/**
 * A `params` value as written. Map-form YAML params arrive as the list form with name/value
 * pairs in document order; non-string YAML values are already stringified by the loader.
 */
export type ParamsDefinition =
  | { form: 'string'; text: string }
  | { form: 'list'; items: Array<string | { name: string; value: string }> };

/** One resolved parameter; positional ones are named "1", "2", … (numbering QUIRK of dag-yaml.md §3.5). */
export interface ParamEntry {
  name: string;
  value: string;
}
