// YAML syntax problems of a spec while it is typed, with their lines: the browser's own parse
// (the `yaml` package, loaded only when the spec editor opens). What the DAG means — its keys,
// steps and dependencies — is checked by the server (its validate endpoint while typing, and
// again when saving).
import { isMap, LineCounter, parseAllDocuments } from 'yaml';

export interface YamlProblem {
  line: number;
  message: string;
}

export function yamlProblems(text: string): YamlProblem[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const problems: YamlProblem[] = [];
  for (const document of Array.isArray(documents) ? documents : []) {
    for (const error of document.errors) {
      const message = error.message.split('\n')[0]!.trim();
      // An unclosed quote is reported where the text ends; the quote opened on an earlier line.
      const quote = /Missing closing (["'])quote/.exec(message)?.[1];
      const opened = quote ? text.lastIndexOf(quote, error.pos[0] - 1) : -1;
      const at = opened >= 0 ? opened : error.pos[0];
      problems.push({ line: lineCounter.linePos(at).line, message });
    }
  }
  const main = Array.isArray(documents) ? documents[0]?.contents : undefined;
  if (problems.length === 0 && main && !isMap(main)) {
    const line = main.range ? lineCounter.linePos(main.range[0]).line : 1;
    problems.push({ line, message: 'a DAG must be a map of keys (name:, steps:, …)' });
  }
  return problems.sort((a, b) => a.line - b.line);
}
