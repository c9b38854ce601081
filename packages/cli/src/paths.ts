// Where dagu-ts keeps things: everything under $DAGU_HOME when it is set, otherwise the per-user
// directories Dagu uses (config dir for DAG files, data dir for logs and data).
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Paths {
  dagsDir: string;
  logDir: string;
  dataDir: string;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): Paths {
  const home = env.DAGU_HOME;
  const configHome = home ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'dagu');
  const dataHome = home ?? join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'dagu');
  return {
    dagsDir: env.DAGU_DAGS_DIR ?? env.DAGU_DAGS ?? join(configHome, 'dags'),
    logDir: env.DAGU_LOG_DIR ?? join(dataHome, 'logs'),
    dataDir: env.DAGU_DATA_DIR ?? join(dataHome, 'data'),
  };
}
