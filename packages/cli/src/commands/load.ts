import { DagValidationError, formatIssues, loadDag, type Dag } from '@dagu-ts/core';
import { resolveDagPath } from './resolve-dag.js';

/** Loads a DAG for a command, printing load problems to stderr; undefined when it does not load. */
export async function loadDagForCommand(
  dag: string,
): Promise<{ dag: Dag; path: string } | undefined> {
  const path = resolveDagPath(dag);
  try {
    return { dag: await loadDag(path), path };
  } catch (error) {
    process.stderr.write(`${describeLoadError(error, path)}\n`);
    return undefined;
  }
}

export function describeLoadError(error: unknown, path: string): string {
  if (error instanceof DagValidationError) return formatIssues(error.issues, path);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${path}: no such DAG file`;
  if (code === 'EISDIR') return `${path}: is a directory, not a DAG file`;
  if (code === 'EACCES') return `${path}: permission denied`;
  return `${path}: ${error instanceof Error ? error.message : String(error)}`;
}
