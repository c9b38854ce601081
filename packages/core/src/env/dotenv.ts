// DAG `dotenv` files (dag-yaml.md §1, §3.6): loaded after env and params, overriding the run's
// environment.
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { substituteBackticks } from '../eval/backticks.js';
import { expandOsEnv } from '../eval/expand-os-env.js';
import type { ShellRunner } from '../eval/shell-runner.js';
import { parseDotenv } from './dotenv-parse.js';

export interface LoadDotenvOptions {
  /** Directory of the DAG file: first place a relative path is looked up. */
  dagDir?: string | undefined;
  /** Second place a relative path is looked up (default: HOME from `env`). */
  homeDir?: string | undefined;
  env: Map<string, string>;
  runShell: ShellRunner;
}

/** Like Go's FileExists: anything but "no such file" counts, so unreadable files fail loudly later. */
async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

async function resolveDotenvPath(
  path: string,
  searchDirs: readonly string[],
): Promise<string | undefined> {
  if (isAbsolute(path)) return (await exists(path)) ? path : undefined;
  for (const dir of searchDirs) {
    const candidate = join(dir, path);
    if (await exists(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Evaluates each path (backticks, then env), resolves it (absolute as is; relative to the DAG
 * directory, then the home directory), skips missing files silently, and applies every found
 * file in order with override. Returns the files that were loaded.
 */
export async function loadDotenvFiles(
  paths: readonly string[],
  options: LoadDotenvOptions,
): Promise<string[]> {
  const { env, runShell } = options;
  const homeDir = options.homeDir ?? env.get('HOME');
  const searchDirs = [options.dagDir, homeDir].filter(
    (dir): dir is string => dir !== undefined && dir !== '',
  );
  const loaded: string[] = [];
  for (const rawPath of paths) {
    let path: string;
    try {
      path = expandOsEnv(await substituteBackticks(rawPath, runShell), env);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`dotenv: failed to evaluate path ${rawPath}: ${reason}`, { cause: error });
    }
    // An empty path would resolve to a directory; there is nothing to load.
    if (path === '') continue;
    const file = await resolveDotenvPath(path, searchDirs);
    if (file === undefined) continue;
    let vars: Map<string, string>;
    try {
      vars = parseDotenv(await readFile(file, 'utf8'));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`dotenv: failed to load ${file}: ${reason}`, { cause: error });
    }
    for (const [key, value] of vars) env.set(key, value);
    loaded.push(file);
  }
  return loaded;
}
