// Where a command takes <dag>, it accepts a file path or the name of a DAG in the DAGs directory.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function dagsDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DAGU_DAGS_DIR) return env.DAGU_DAGS_DIR;
  if (env.DAGU_DAGS) return env.DAGU_DAGS;
  const home = env.DAGU_HOME ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'dagu');
  return join(home, 'dags');
}

/** The file a <dag> argument refers to; the argument itself when nothing matches. */
export function resolveDagPath(dag: string): string {
  if (existsSync(dag)) return dag;
  if (!dag.includes('/')) {
    for (const ext of ['.yaml', '.yml', '']) {
      const candidate = join(dagsDirectory(), `${dag}${ext}`);
      if (existsSync(candidate)) return candidate;
    }
  }
  return dag;
}
