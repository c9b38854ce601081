// Where dagu-ts keeps things: one home ($DAGU_HOME, else the store's per-user default) with
// dags/, data/ and logs/, each movable with Dagu's DAGU_*_DIR variables — the same layout the
// server uses, so the CLI and the server see the same DAG files and runs.
import { resolveStorePaths, type StorePaths } from '@dagu-ts/store';

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): StorePaths {
  const dagsDir = env.DAGU_DAGS_DIR || env.DAGU_DAGS;
  return resolveStorePaths({
    ...(env.DAGU_HOME ? { home: env.DAGU_HOME } : {}),
    ...(dagsDir ? { dagsDir } : {}),
    ...(env.DAGU_DATA_DIR ? { dataDir: env.DAGU_DATA_DIR } : {}),
    ...(env.DAGU_LOG_DIR ? { logDir: env.DAGU_LOG_DIR } : {}),
  });
}
