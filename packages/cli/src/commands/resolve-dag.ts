// Where a command takes <dag>, it accepts a file path or the name of a DAG in the DAGs directory.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cliConfig } from '../settings.js';

/** The file a <dag> argument refers to; the argument itself when nothing matches. */
export function resolveDagPath(dag: string): string {
  if (existsSync(dag)) return dag;
  if (!dag.includes('/')) {
    for (const ext of ['.yaml', '.yml', '']) {
      const candidate = join(cliConfig().dagsDir, `${dag}${ext}`);
      if (existsSync(candidate)) return candidate;
    }
  }
  return dag;
}
