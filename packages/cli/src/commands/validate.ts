import { formatIssues, unknownExecutorIssues } from '@dagu-ts/core';
import { loadDagForCommand } from './load.js';

export async function validateCommand(dag: string): Promise<number> {
  const loaded = await loadDagForCommand(dag);
  if (!loaded) return 1;
  // A step whose executor this engine lacks would fail at start: report it now, as an error.
  const unsupported = unknownExecutorIssues(loaded.dag);
  if (unsupported.length > 0) {
    process.stderr.write(`${formatIssues(unsupported, loaded.path)}\n`);
    return 1;
  }
  const { steps, name, localDags } = loaded.dag;
  const locals = localDags.length > 0 ? `, ${localDags.length} local DAG(s)` : '';
  process.stdout.write(`${loaded.path}: valid DAG "${name}" (${steps.length} step(s)${locals})\n`);
  return 0;
}
