// Where dagu-ts keeps things: one home ($DAGU_HOME, else the store's per-user default) with
// dags/, data/ and logs/, each movable with Dagu's DAGU_*_DIR variables or the config file — the
// same layout the server uses, so the CLI and the server see the same DAG files and runs.
// Precedence as in the server: command-line flag > environment variable > config file > default.
import { resolveStorePaths, type StorePaths } from '@dagu-ts/store';

export interface PathSettings {
  dagsDir?: string;
  dataDir?: string;
  logDir?: string;
}

let fromFlags: PathSettings = {};
let fromConfigFile: PathSettings = {};

/** Directories given on the command line (e.g. `scheduler --dags DIR`). */
export function setPathFlags(settings: PathSettings): void {
  fromFlags = { ...fromFlags, ...settings };
}

/** Directories read from the config file (see config.ts). */
export function setConfigFilePaths(settings: PathSettings): void {
  fromConfigFile = settings;
}

export function resolvePaths(env: NodeJS.ProcessEnv = process.env): StorePaths {
  const dagsDir = fromFlags.dagsDir || env.DAGU_DAGS_DIR || env.DAGU_DAGS || fromConfigFile.dagsDir;
  const dataDir = fromFlags.dataDir || env.DAGU_DATA_DIR || fromConfigFile.dataDir;
  const logDir = fromFlags.logDir || env.DAGU_LOG_DIR || fromConfigFile.logDir;
  return resolveStorePaths({
    ...(env.DAGU_HOME ? { home: env.DAGU_HOME } : {}),
    ...(dagsDir ? { dagsDir } : {}),
    ...(dataDir ? { dataDir } : {}),
    ...(logDir ? { logDir } : {}),
  });
}
