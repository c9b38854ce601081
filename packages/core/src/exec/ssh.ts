// The `ssh` executor (dag-yaml.md §6): runs the step's command on a remote host over SSH (package
// ssh2, imported only when an ssh step runs).
//
// Stopping: closing an SSH session without a pty does not end the remote command (OpenSSH keeps
// it running), and channel signals are refused for root sessions. So the command runs under a
// small POSIX sh wrapper on the remote side: the command gets its own process group (`setsid`),
// and a watcher reading the channel's stdin signals that group when stdin ends — because we
// close it on a stop or a timeout, or because the connection is gone. The signal is the step's
// `signalOnStop` (default TERM), then KILL after STOP_GRACE_SEC. stdout and stderr stay separate.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { Client, ClientChannel, ConnectConfig } from 'ssh2';
import { shellVariableFor } from '../eval/untrusted.js';
import { evaluateStepConfig } from './config.js';
import type { Executor, ExecutorContext, ExecutorResult } from './executor.js';

/** Seconds between the stop signal and KILL on the remote side. */
export const STOP_GRACE_SEC = 10;

/** The decoded `executor.config` of an ssh step. */
export interface SshConfig {
  user: string;
  /** `ip`, or `host` (an alias dagu-ts accepts; Dagu v1.17.4 ignores `host`). */
  host: string;
  port: number;
  /** Absolute path of the private key; undefined when none is configured. */
  keyPath: string | undefined;
  password: string;
  /** Known-hosts file to check the server's key against; undefined = no check (Dagu's default). */
  knownHostsFile: string | undefined;
}

/** The `ssh` executor: `command` is the remote shell line, `executor.config` the connection. */
export const sshExecutor: Executor = {
  async run(context) {
    const config = parseSshConfig(await evaluateStepConfig(context), context);
    if (typeof config === 'string') return { exitCode: 1, error: `ssh: ${config}` };
    const line = await context.commandLine(true, 'shell');
    if (line.trim() === '') return { exitCode: 1, error: 'ssh: step command is required' };
    return runSsh(context, config, remoteCommand(exportsOfUntrusted(context) + line));
  },
};

/** The connection settings of a step, or why they are unusable. */
export function parseSshConfig(
  raw: Record<string, unknown>,
  context: Pick<ExecutorContext, 'env' | 'workDir'>,
): SshConfig | string {
  const text = (key: string): string => {
    const value = raw[key];
    return value === undefined || value === null ? '' : String(value).trim();
  };
  const host = text('ip') || text('host');
  if (!host) return 'config.ip (or config.host) is required';
  const user = text('user');
  if (!user) return 'config.user is required';
  const portText = text('port');
  const port = portText === '' || portText === '0' ? 22 : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return `config.port must be a port number, not ${JSON.stringify(portText)}`;
  const home = context.env.HOME || homedir();
  const path = (value: string): string =>
    resolve(context.workDir, value.replace(/^~(?=$|\/)/, home));
  const key = text('key');
  const strict = raw.stricthostkeychecking;
  const checking = strict === true || String(strict).toLowerCase() === 'true';
  const knownHosts = text('knownhostsfile');
  return {
    user,
    host,
    port,
    keyPath: key ? path(key) : undefined,
    password: raw.password === undefined ? '' : String(raw.password),
    knownHostsFile: knownHosts
      ? path(knownHosts)
      : checking
        ? resolve(home, '.ssh/known_hosts')
        : undefined,
  };
}

/** `sh -c '<wrapper>' dagu-ssh '<line>'`, quoted for the remote user's login shell. */
export function remoteCommand(line: string): string {
  return `sh -c ${shellQuote(WRAPPER)} dagu-ssh ${shellQuote(line)}`;
}

// $1 is the command. fd 3 keeps the channel's stdin for the watcher (an asynchronous list would
// otherwise read /dev/null). The watcher reads lines until EOF; a line naming a signal replaces
// TERM. After EOF it ignores TERM (the wrapper's own clean-up kill) and waits for the group to go.
const WRAPPER = `exec 3<&0
if command -v setsid >/dev/null 2>&1; then setsid sh -c "$1" </dev/null & else sh -c "$1" </dev/null & fi
pid=$!
(
  sig=TERM
  while IFS= read -r line; do
    case $line in ''|*[!A-Z0-9]*) ;; *) sig=$line ;; esac
  done
  trap '' TERM
  kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null
  n=0
  while kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null; do
    n=$((n + 1))
    if [ "$n" -gt ${STOP_GRACE_SEC} ]; then
      kill -s KILL -- "-$pid" 2>/dev/null || kill -s KILL "$pid" 2>/dev/null
      break
    fi
    sleep 1
  done
) <&3 >/dev/null 2>&1 &
watcher=$!
exec 3<&-
wait "$pid"
rc=$?
kill "$watcher" 2>/dev/null
exit "$rc"`;

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * API params are data (api-v2.md Part A): evaluated for a shell target they become `${NAME}`
 * references, so the remote shell gets their values as exported variables, quoted.
 */
function exportsOfUntrusted(context: ExecutorContext): string {
  const untrusted = context.evalContext().untrusted;
  if (!untrusted || untrusted.size === 0) return '';
  let prefix = '';
  for (const name of untrusted) {
    const variable = shellVariableFor(name);
    const value = variable !== undefined ? context.env[variable] : undefined;
    if (variable !== undefined && value !== undefined)
      prefix += `${variable}=${shellQuote(value)}; export ${variable}; `;
  }
  return prefix;
}

/** Connects, runs `command`, streams its output into the step's logs, returns its exit status. */
export async function runSsh(
  context: ExecutorContext,
  config: SshConfig,
  command: string,
): Promise<ExecutorResult> {
  const where = `${config.user}@${config.host}:${config.port}`;
  let connect: ConnectConfig;
  try {
    connect = connectConfig(config);
  } catch (error) {
    return { exitCode: 1, error: `ssh: ${(error as Error).message}` };
  }
  if (context.signal.aborted) return { exitCode: 1, error: 'ssh: stopped before connecting' };
  const { Client: SshClient } = await import('ssh2');
  const client = new SshClient();
  try {
    await connectClient(client, connect, context.signal);
  } catch (error) {
    client.end();
    return { exitCode: 1, error: `ssh: cannot connect to ${where}: ${describe(error)}` };
  }
  try {
    return await execute(client, command, context);
  } catch (error) {
    return { exitCode: 1, error: `ssh: ${where}: ${describe(error)}` };
  } finally {
    client.end();
  }
}

function connectConfig(config: SshConfig): ConnectConfig {
  const connect: ConnectConfig = {
    host: config.host,
    port: config.port,
    username: config.user,
    // The step's timeout and stop abort the connection; this bounds a silent server otherwise.
    readyTimeout: 30_000,
  };
  // Dagu: the key when there is one, else the password.
  if (config.keyPath) {
    try {
      connect.privateKey = readFileSync(config.keyPath);
    } catch (error) {
      throw new Error(`cannot read key ${config.keyPath}: ${describe(error)}`);
    }
  } else {
    connect.password = config.password;
  }
  if (config.knownHostsFile) {
    const known = readKnownHosts(config.knownHostsFile);
    connect.hostVerifier = (key: Buffer) =>
      hostKeyIsKnown(known, config.host, config.port, key.toString('base64'));
  }
  return connect;
}

function connectClient(client: Client, config: ConnectConfig, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      client.end();
      reject(new Error('stopped while connecting'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    client.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    });
    client.connect(config);
  });
}

function execute(
  client: Client,
  command: string,
  context: ExecutorContext,
): Promise<ExecutorResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel: ClientChannel) => {
      if (error) {
        reject(error);
        return;
      }
      const out = new StringDecoder('utf8');
      const err = new StringDecoder('utf8');
      channel.on('data', (chunk: Buffer) => context.write('stdout', out.write(chunk)));
      channel.stderr.on('data', (chunk: Buffer) => context.write('stderr', err.write(chunk)));
      let exit: { code: number | null; signal: string | undefined } | undefined;
      channel.on('exit', (code: number | null, signal?: string) => {
        exit = { code, signal };
      });
      let stopped = false;
      let giveUp: NodeJS.Timeout | undefined;
      const stop = (): void => {
        stopped = true;
        const signal = (context.node.step.signalOnStop ?? 'SIGTERM').replace(/^SIG/, '');
        channel.end(`${signal}\n`);
        // The wrapper ends the group within the grace period; a dead connection never answers.
        giveUp = setTimeout(() => client.destroy(), (STOP_GRACE_SEC + 5) * 1000);
      };
      if (context.signal.aborted) stop();
      else context.signal.addEventListener('abort', stop, { once: true });
      channel.on('close', () => {
        context.signal.removeEventListener('abort', stop);
        if (giveUp) clearTimeout(giveUp);
        const restOut = out.end();
        const restErr = err.end();
        if (restOut) context.write('stdout', restOut);
        if (restErr) context.write('stderr', restErr);
        resolve(resultOf(exit, stopped));
      });
    });
  });
}

function resultOf(
  exit: { code: number | null; signal: string | undefined } | undefined,
  stopped: boolean,
): ExecutorResult {
  if (stopped) return { exitCode: exit?.code ?? -1, error: 'ssh: the remote command was stopped' };
  if (!exit) return { exitCode: -1, error: 'ssh: the connection closed before the command exited' };
  if (exit.signal) return { exitCode: -1, error: `ssh: remote signal: SIG${exit.signal}` };
  const code = exit.code ?? -1;
  return { exitCode: code, error: code === 0 ? undefined : `exit status ${code}` };
}

// ---- known hosts ---------------------------------------------------------------------------------

interface KnownHost {
  patterns: string[];
  key: string;
  revoked: boolean;
}

/** The entries of an OpenSSH known_hosts file (plain and hashed host names, `@revoked`). */
export function readKnownHosts(path: string): KnownHost[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read known hosts file ${path}: ${describe(error)}`);
  }
  const entries: KnownHost[] = [];
  for (const raw of text.split('\n')) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0]!.startsWith('#')) continue;
    let revoked = false;
    if (fields[0]!.startsWith('@')) {
      // @cert-authority lines hold CA keys, which this check does not use.
      if (fields[0] !== '@revoked') continue;
      revoked = true;
      fields.shift();
    }
    const [hosts, , key] = fields;
    if (hosts && key) entries.push({ patterns: hosts.split(','), key, revoked });
  }
  return entries;
}

/** Whether `key` (base64) is a known, unrevoked key of host:port. */
export function hostKeyIsKnown(
  known: readonly KnownHost[],
  host: string,
  port: number,
  key: string,
): boolean {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const matching = known.filter((entry) => entry.patterns.some((p) => hostMatches(p, name)));
  if (matching.some((entry) => entry.revoked && entry.key === key)) return false;
  return matching.some((entry) => !entry.revoked && entry.key === key);
}

function hostMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return digest === hash;
  }
  return pattern === name;
}

function describe(error: unknown): string {
  const e = error as { message?: string; level?: string };
  if (e.level === 'client-authentication') return `authentication failed (${e.message})`;
  if (e.level === 'client-timeout') return 'timed out waiting for the SSH handshake';
  return e.message ?? String(error);
}
