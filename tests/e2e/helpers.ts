import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const corpusDir = fileURLToPath(new URL('../corpus/', import.meta.url));
export const cliBin = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

// A command run without its own DAGU_HOME must never touch the machine's real one.
let defaultHome: string | undefined;
function isolatedHome(): string {
  if (!defaultHome) {
    const home = mkdtempSync(join(tmpdir(), 'dagu-cli-home-'));
    process.once('exit', () => rmSync(home, { recursive: true, force: true }));
    defaultHome = home;
  }
  return defaultHome;
}

/** This process's environment without any DAGU_* setting, with `home` as DAGU_HOME. */
export function cliEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith('DAGU_')) env[key] = value;
  return { ...env, DAGU_HOME: home, SHELL: '/bin/sh' };
}

/** Runs the built `dagu-ts` binary as a user would, in a throwaway DAGU_HOME unless given one. */
export function runCli(
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliBin, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, DAGU_HOME: isolatedHome(), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
