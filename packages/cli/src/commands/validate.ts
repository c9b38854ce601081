import { loadDagForCommand } from './load.js';

export async function validateCommand(dag: string): Promise<number> {
  const loaded = await loadDagForCommand(dag);
  if (!loaded) return 1;
  const { steps, name, localDags } = loaded.dag;
  const locals = localDags.length > 0 ? `, ${localDags.length} local DAG(s)` : '';
  process.stdout.write(`${loaded.path}: valid DAG "${name}" (${steps.length} step(s)${locals})\n`);
  return 0;
}
