// YAML syntax problems of a spec while it is typed, with their lines: the browser's own parse
// (the `yaml` package, loaded only when the spec editor opens). What the DAG means — its keys,
// steps and dependencies — is checked by the server when saving.
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
    for (const error of document.errors)
      problems.push({
        line: lineCounter.linePos(error.pos[0]).line,
        message: error.message.split('\n')[0]!.trim(),
      });
  }
  const main = Array.isArray(documents) ? documents[0]?.contents : undefined;
  if (problems.length === 0 && main && !isMap(main)) {
    const line = main.range ? lineCounter.linePos(main.range[0]).line : 1;
    problems.push({ line, message: 'a DAG must be a map of keys (name:, steps:, …)' });
  }
  return problems.sort((a, b) => a.line - b.line);
}
