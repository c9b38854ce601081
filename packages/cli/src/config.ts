// The CLI's part of the configuration file (`-c/--config`, else the server's default places):
// the directories, so that the CLI and a server started with the same config.yaml see the same
// DAG files and runs. Key names and the default places are those of apps/server's loader.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { PathSettings } from './paths.js';

export const CONFIG_FILE_NAME = 'config.yaml';

/** Where the server looks when no --config is given: $DAGU_HOME, else ~/.config/dagu. */
function defaultConfigFile(env: NodeJS.ProcessEnv): string {
  return env.DAGU_HOME
    ? join(resolve(env.DAGU_HOME), CONFIG_FILE_NAME)
    : join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'dagu', CONFIG_FILE_NAME);
}

/**
 * The directories a config file sets (relative paths are relative to the file). A file given
 * with --config must exist; the default one is optional. Throws with a message for a bad file.
 */
export async function readConfigPaths(
  flagPath: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PathSettings> {
  const path = resolve(flagPath ?? defaultConfigFile(env));
  if (flagPath === undefined && !existsSync(path)) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT'
        ? `config file not found: ${path}`
        : `cannot read config file ${path}: ${(error as Error).message}`,
    );
  }
  // Loaded only when there is a file, so that runs without one start fast.
  const { parse } = await import('yaml');
  let data: unknown;
  try {
    data = parse(text, { maxAliasCount: 100 });
  } catch (error) {
    throw new Error(`invalid YAML in config file ${path}: ${(error as Error).message}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new Error(`config file ${path} must be a mapping of keys to values`);
  const pathOf = (...keyPaths: string[]): string | undefined => {
    for (const keyPath of keyPaths) {
      const value = lookup(data, keyPath);
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string' || value.trim() === '')
        throw new Error(`invalid ${path}: ${keyPath}: expected a path`);
      return resolve(dirname(path), value);
    }
    return undefined;
  };
  const dagsDir = pathOf('paths.dagsDir', 'dagsDir', 'dags');
  const dataDir = pathOf('paths.dataDir', 'dataDir');
  const logDir = pathOf('paths.logDir', 'logDir');
  return {
    ...(dagsDir ? { dagsDir } : {}),
    ...(dataDir ? { dataDir } : {}),
    ...(logDir ? { logDir } : {}),
  };
}

function lookup(data: unknown, keyPath: string): unknown {
  let value = data;
  for (const key of keyPath.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}
