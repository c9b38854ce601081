// The on-disk layout of a store: one home directory holding the DAG files, the database and the
// run logs. Each part can be moved elsewhere on its own, as Dagu's DAGU_*_DIR variables allow.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export interface StorePathOptions {
  /** The home directory; default `$DAGU_HOME`, else `$XDG_DATA_HOME/dagu` (`~/.local/share/dagu`). */
  home?: string;
  /** Holds the database file `dagu.db`; default `<home>/data`. */
  dataDir?: string;
  /** Base directory of run logs; default `<home>/logs`. */
  logDir?: string;
  /** The DAG files; default `<home>/dags`. */
  dagsDir?: string;
}

export interface StorePaths {
  home: string;
  dagsDir: string;
  dataDir: string;
  logDir: string;
  /** `<dataDir>/dagu.db` */
  databaseFile: string;
}

export const DATABASE_FILE_NAME = 'dagu.db';

export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DAGU_HOME) return env.DAGU_HOME;
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'dagu');
}

/** Absolute paths of every part of the layout; nothing is created. */
export function resolveStorePaths(options: StorePathOptions = {}): StorePaths {
  const home = resolve(options.home ?? defaultHome());
  const dataDir = resolve(options.dataDir ?? join(home, 'data'));
  return {
    home,
    dagsDir: resolve(options.dagsDir ?? join(home, 'dags')),
    dataDir,
    logDir: resolve(options.logDir ?? join(home, 'logs')),
    databaseFile: join(dataDir, DATABASE_FILE_NAME),
  };
}
