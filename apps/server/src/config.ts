// The server's configuration: one loader, precedence command-line flag > environment variable >
// config file > default. Environment and file names follow Dagu's, so a Dagu deployment carries
// over. Every bad value is a ConfigError naming where it came from; nothing here logs.
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultHome } from '@dagu-ts/store';
import { parse as parseYaml } from 'yaml';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;
export const CONFIG_FILE_NAME = 'config.yaml';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** The command-line flags of the server. */
export interface ServerFlags {
  host?: string;
  port?: string;
  dags?: string;
  config?: string;
  basePath?: string;
  help: boolean;
  version: boolean;
}

export interface ServerConfig {
  host: string;
  port: number;
  /** "" or a path like "/dagu" (leading slash, no trailing slash). */
  basePath: string;
  home: string;
  dagsDir: string;
  dataDir: string;
  logDir: string;
  /** The config file that was read, if any. */
  configFile?: string;
  auth: {
    basic?: { username: string; password: string };
    token?: string;
    jwtSecret?: string;
  };
  tls?: { certFile: string; keyFile: string };
  /** Origins a browser page may call the API from (CORS); `*` any; empty = same origin only. */
  corsAllowedOrigins: string[];
  /** Host names served when auth is off, besides localhost, IP addresses and `host`; `*` any. */
  allowedHosts: string[];
  /** DAGU_METRICS=public: /metrics without auth. */
  publicMetrics: boolean;
  /** IANA time zone (DAGU_TZ / tz). */
  tz?: string;
  permissions: { writeDAGs: boolean; runDAGs: boolean };
  queues: { enabled: boolean; limits: ReadonlyMap<string, number> };
  /** Write example DAGs into an empty DAGs directory of a new home (skipExamples turns it off). */
  examples: boolean;
  /** On SIGTERM/SIGINT, how long active runs may go on before they are canceled. */
  shutdownGraceSec: number;
  /**
   * DAGU_DATABASE_URL / database.url: a postgres:// URL puts the state in that PostgreSQL
   * database (several servers share it); without it, SQLite under the data directory.
   */
  databaseUrl?: string;
  /**
   * Distributed execution: `distributed` sends every run to a worker (DAGU_DEFAULT_EXECUTION_MODE;
   * default `local`: only DAGs with a workerSelector); a worker silent for `leaseSec` loses its
   * runs (DAGU_WORKER_LEASE_SEC, default 30).
   */
  workers: { executionMode: 'local' | 'distributed'; leaseSec: number };
}

/** A worker heartbeats every 0.5 s while it runs something; 30 s of silence means it is gone. */
export const DEFAULT_WORKER_LEASE_SEC = 30;

/** Dagu has no such setting; 5 s lets short steps end on their own before a deploy cancels them. */
export const DEFAULT_SHUTDOWN_GRACE_SEC = 5;

export const USAGE = `Usage: dagu-ts-server [options]

Options:
  -s, --host <host>        listen address (DAGU_HOST, default ${DEFAULT_HOST})
  -p, --port <port>        listen port, 0 for any free port (DAGU_PORT, default ${DEFAULT_PORT})
  -d, --dags <dir>         DAG files directory (DAGU_DAGS_DIR, default <home>/dags)
  -c, --config <file>      config file (default $DAGU_HOME/${CONFIG_FILE_NAME}, else
                           ~/.config/dagu/${CONFIG_FILE_NAME}, when it exists)
      --base-path <path>   serve under this prefix, e.g. /dagu (DAGU_BASE_PATH)
  -h, --help               show this help
  -v, --version            print the version
`;

/** Parses the server's argv (without node and the script). Throws ConfigError on unknown flags. */
export function parseServerArgs(argv: readonly string[]): ServerFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        host: { type: 'string', short: 's' },
        port: { type: 'string', short: 'p' },
        dags: { type: 'string', short: 'd' },
        config: { type: 'string', short: 'c' },
        'base-path': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    }));
  } catch (error) {
    // node's messages go on with advice about '--'; the first sentence is the useful part.
    const [reason] = (error as Error).message.split(/\.\s/);
    throw new ConfigError(`${reason} (see --help)`);
  }
  const text = (name: string): string | undefined => values[name] as string | undefined;
  return {
    ...optional('host', text('host')),
    ...optional('port', text('port')),
    ...optional('dags', text('dags')),
    ...optional('config', text('config')),
    ...optional('basePath', text('base-path')),
    help: values.help === true,
    version: values.version === true,
  };
}

export interface LoadConfigInput {
  flags?: Partial<ServerFlags>;
  env?: NodeJS.ProcessEnv;
  /** Base of relative paths given by flags and environment variables. */
  cwd?: string;
}

/** A raw setting and where it came from, for error messages. */
interface Candidate {
  value: unknown;
  source: string;
  /** Base directory of a relative path. */
  base: string;
}

/** Resolves the configuration; throws ConfigError for a bad value, naming its source. */
export function loadConfig(input: LoadConfigInput = {}): ServerConfig {
  const flags = input.flags ?? {};
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();

  const flag = (name: string, value: string | undefined): Candidate | undefined =>
    value === undefined ? undefined : { value, source: `--${name}`, base: cwd };
  const fromEnv = (...names: string[]): Candidate | undefined => {
    for (const name of names) {
      const value = env[name];
      if (value !== undefined && value !== '') return { value, source: name, base: cwd };
    }
    return undefined;
  };

  const home = resolve(cwd, env.DAGU_HOME || defaultHome(env));
  // Dagu's places: <DAGU_HOME>/config.yaml, else the per-user config dir (~/.config/dagu).
  const defaultConfigFile = env.DAGU_HOME
    ? join(home, CONFIG_FILE_NAME)
    : join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'dagu', CONFIG_FILE_NAME);
  const file = readConfigFile(flags.config, defaultConfigFile, cwd);
  const fromFile = (...keyPaths: string[]): Candidate | undefined => {
    if (!file) return undefined;
    for (const keyPath of keyPaths) {
      const value = lookup(file.data, keyPath);
      if (value !== undefined && value !== null)
        return { value, source: `${file.path}: ${keyPath}`, base: dirname(file.path) };
    }
    return undefined;
  };

  const host =
    asString(first(flag('host', flags.host), fromEnv('DAGU_HOST'), fromFile('host'))) ??
    DEFAULT_HOST;
  const port = asPort(first(flag('port', flags.port), fromEnv('DAGU_PORT'), fromFile('port')));
  const basePath = asBasePath(
    first(flag('base-path', flags.basePath), fromEnv('DAGU_BASE_PATH'), fromFile('basePath')),
  );
  const dagsDir =
    asPath(
      first(
        flag('dags', flags.dags),
        fromEnv('DAGU_DAGS_DIR', 'DAGU_DAGS'),
        fromFile('paths.dagsDir', 'dagsDir', 'dags'),
      ),
    ) ?? join(home, 'dags');
  const dataDir =
    asPath(first(fromEnv('DAGU_DATA_DIR'), fromFile('paths.dataDir', 'dataDir'))) ??
    join(home, 'data');
  const logDir =
    asPath(first(fromEnv('DAGU_LOG_DIR'), fromFile('paths.logDir', 'logDir'))) ??
    join(home, 'logs');

  const username = first(
    fromEnv('DAGU_AUTH_BASIC_USERNAME', 'DAGU_BASICAUTH_USERNAME'),
    fromFile('auth.basic.username', 'basicAuthUsername'),
  );
  const password = first(
    fromEnv('DAGU_AUTH_BASIC_PASSWORD', 'DAGU_BASICAUTH_PASSWORD'),
    fromFile('auth.basic.password', 'basicAuthPassword'),
  );
  const token = asSecret(first(fromEnv('DAGU_AUTH_TOKEN'), fromFile('auth.token.value')));
  const jwtSecret = asSecret(first(fromEnv('DAGU_AUTH_JWT_SECRET'), fromFile('auth.jwt.secret')));
  const basic = asBasic(username, password);

  const tls = asTls(
    first(fromEnv('DAGU_CERT_FILE'), fromFile('tls.certFile')),
    first(fromEnv('DAGU_KEY_FILE'), fromFile('tls.keyFile')),
  );
  const corsAllowedOrigins = asList(
    first(fromEnv('DAGU_CORS_ALLOWED_ORIGINS'), fromFile('cors.allowedOrigins')),
    asOrigin,
    'an origin like https://ui.example:8443 (no path) or *',
  );
  const allowedHosts = asList(
    first(fromEnv('DAGU_ALLOWED_HOSTS'), fromFile('allowedHosts')),
    asHostName,
    'a host name or IP address without port, or *',
  );
  const metrics = asChoice(first(fromEnv('DAGU_METRICS'), fromFile('metrics')), [
    'public',
    'private',
  ]);
  const tz = asTimeZone(first(fromEnv('DAGU_TZ'), fromFile('tz')));

  const writeDAGs = asBoolean(
    first(fromEnv('DAGU_PERMISSIONS_WRITE_DAGS'), fromFile('permissions.writeDAGs')),
  );
  const runDAGs = asBoolean(
    first(fromEnv('DAGU_PERMISSIONS_RUN_DAGS'), fromFile('permissions.runDAGs')),
  );
  const queuesEnabled = asBoolean(first(fromEnv('DAGU_QUEUE_ENABLED'), fromFile('queues.enabled')));
  const queueLimits = asQueueLimits(fromFile('queues.config'));
  const skipExamples = asBoolean(first(fromEnv('DAGU_SKIP_EXAMPLES'), fromFile('skipExamples')));
  const shutdownGraceSec = asSeconds(
    first(fromEnv('DAGU_SHUTDOWN_GRACE_SEC'), fromFile('shutdownGraceSec')),
  );
  const databaseUrl = asDatabaseUrl(first(fromEnv('DAGU_DATABASE_URL'), fromFile('database.url')));
  const executionMode = asChoice(
    first(fromEnv('DAGU_DEFAULT_EXECUTION_MODE'), fromFile('defaultExecutionMode')),
    ['local', 'distributed'],
  );
  const workerLeaseSec = asSeconds(
    first(fromEnv('DAGU_WORKER_LEASE_SEC'), fromFile('workers.leaseSec')),
  );

  return {
    host,
    port: port ?? DEFAULT_PORT,
    basePath: basePath ?? '',
    home,
    dagsDir,
    dataDir,
    logDir,
    ...(file ? { configFile: file.path } : {}),
    auth: {
      ...(basic ? { basic } : {}),
      ...(token !== undefined ? { token } : {}),
      ...(jwtSecret !== undefined ? { jwtSecret } : {}),
    },
    ...(tls ? { tls } : {}),
    corsAllowedOrigins,
    allowedHosts,
    publicMetrics: metrics === 'public',
    ...(tz !== undefined ? { tz } : {}),
    permissions: { writeDAGs: writeDAGs ?? true, runDAGs: runDAGs ?? true },
    queues: { enabled: queuesEnabled ?? true, limits: queueLimits },
    examples: !(skipExamples ?? false),
    shutdownGraceSec: shutdownGraceSec ?? DEFAULT_SHUTDOWN_GRACE_SEC,
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
    workers: {
      executionMode: executionMode ?? 'local',
      leaseSec: workerLeaseSec && workerLeaseSec > 0 ? workerLeaseSec : DEFAULT_WORKER_LEASE_SEC,
    },
  };
}

/** Whether any auth method is configured (the API is open otherwise). */
export function authMethods(config: ServerConfig): string[] {
  return [
    ...(config.auth.basic ? ['basic'] : []),
    ...(config.auth.token !== undefined ? ['token'] : []),
    ...(config.auth.jwtSecret !== undefined ? ['jwt'] : []),
  ];
}

interface ConfigFile {
  path: string;
  data: Record<string, unknown>;
}

function readConfigFile(
  flagPath: string | undefined,
  defaultPath: string,
  cwd: string,
): ConfigFile | undefined {
  const path = flagPath !== undefined ? resolve(cwd, flagPath) : resolve(cwd, defaultPath);
  if (flagPath === undefined && !existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `config file not found: ${path}`
        : `cannot read config file ${path}: ${(error as Error).message}`,
    );
  }
  let data: unknown;
  try {
    // The yaml package's parse builds plain data only (no custom tags); aliases are capped.
    data = parseYaml(text, { prettyErrors: true, maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(`invalid YAML in config file ${path}: ${(error as Error).message}`);
  }
  if (data === null || data === undefined) return { path, data: {} };
  if (typeof data !== 'object' || Array.isArray(data))
    throw new ConfigError(`config file ${path} must be a mapping of keys to values`);
  return { path, data: data as Record<string, unknown> };
}

function lookup(data: Record<string, unknown>, keyPath: string): unknown {
  let value: unknown = data;
  for (const key of keyPath.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function first(...candidates: (Candidate | undefined)[]): Candidate | undefined {
  return candidates.find((candidate) => candidate !== undefined);
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

function fail(candidate: Candidate, problem: string): never {
  throw new ConfigError(`invalid ${candidate.source}: ${problem}`);
}

function asString(candidate: Candidate | undefined): string | undefined {
  if (!candidate) return undefined;
  if (typeof candidate.value === 'number') return String(candidate.value);
  if (typeof candidate.value !== 'string') fail(candidate, 'expected a string');
  const value = candidate.value.trim();
  if (value === '') fail(candidate, 'must not be empty');
  return value;
}

/** Secrets are taken as they are (no trimming) and never echoed in errors. */
function asSecret(candidate: Candidate | undefined): string | undefined {
  if (!candidate) return undefined;
  if (typeof candidate.value !== 'string') fail(candidate, 'expected a string (quote it in YAML)');
  return candidate.value === '' ? undefined : candidate.value;
}

/** A PostgreSQL connection URL (the message of a bad one does not repeat it: it has a password). */
function asDatabaseUrl(candidate: Candidate | undefined): string | undefined {
  const url = asSecret(candidate);
  if (url === undefined) return undefined;
  if (!/^postgres(ql)?:\/\/[^/]/.test(url))
    fail(candidate!, 'expected a PostgreSQL URL, postgres://user:password@host:port/database');
  return url;
}

function asPort(candidate: Candidate | undefined): number | undefined {
  if (!candidate) return undefined;
  const text = String(candidate.value).trim();
  const port = /^\d+$/.test(text) ? Number(text) : NaN;
  if (
    (typeof candidate.value !== 'string' && typeof candidate.value !== 'number') ||
    !Number.isInteger(port) ||
    port > 65535
  )
    fail(candidate, `${JSON.stringify(candidate.value)} is not a port number (0-65535)`);
  return port;
}

function asBasePath(candidate: Candidate | undefined): string | undefined {
  const value = asString(candidate);
  if (value === undefined || !candidate) return undefined;
  const path = `/${value.replace(/^\/+|\/+$/g, '')}`;
  if (path === '/') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(path) || path.split('/').some((s) => s === '..' || s === '.'))
    fail(candidate, `${JSON.stringify(value)} is not a URL path like /dagu`);
  return path;
}

function asPath(candidate: Candidate | undefined): string | undefined {
  const value = asString(candidate);
  if (value === undefined || !candidate) return undefined;
  return resolve(candidate.base, value);
}

/** A list: a YAML sequence or a comma-separated string; each item checked by `item`. */
function asList(
  candidate: Candidate | undefined,
  item: (value: string) => string | undefined,
  expected: string,
): string[] {
  if (!candidate) return [];
  const { value } = candidate;
  const items =
    typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : undefined;
  if (!items) fail(candidate, 'expected a list or a comma-separated string');
  return items.flatMap((entry: unknown) => {
    if (typeof entry !== 'string') fail(candidate, `${JSON.stringify(entry)} is not a string`);
    const text = entry.trim();
    if (text === '') return [];
    const checked = item(text);
    if (checked === undefined) fail(candidate, `${JSON.stringify(text)} is not ${expected}`);
    return [checked];
  });
}

/** `*` or `scheme://host[:port]` as a browser sends it in Origin (no path). */
function asOrigin(text: string): string | undefined {
  if (text === '*') return text;
  try {
    const url = new URL(text);
    const bare = url.pathname === '/' && !url.search && !url.hash && !url.username;
    return bare && /^https?:$/.test(url.protocol) ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** `*`, an IP address, or a host name without port. */
function asHostName(text: string): string | undefined {
  const bare = text.replace(/^\[(.*)\]$/, '$1');
  if (text === '*' || isIP(bare) !== 0) return text.toLowerCase();
  return /^[A-Za-z0-9_.-]+$/.test(text) ? text.toLowerCase() : undefined;
}

function asSeconds(candidate: Candidate | undefined): number | undefined {
  if (!candidate) return undefined;
  const text = String(candidate.value).trim();
  if (!/^\d+(\.\d+)?$/.test(text))
    return fail(candidate, `${JSON.stringify(candidate.value)} is not a number of seconds`);
  return Number(text);
}

function asBoolean(candidate: Candidate | undefined): boolean | undefined {
  if (!candidate) return undefined;
  if (typeof candidate.value === 'boolean') return candidate.value;
  // Go's strconv.ParseBool, as Dagu reads these.
  const text = String(candidate.value).trim().toLowerCase();
  if (['1', 't', 'true'].includes(text)) return true;
  if (['0', 'f', 'false'].includes(text)) return false;
  return fail(candidate, `${JSON.stringify(candidate.value)} is not true or false`);
}

function asChoice<T extends string>(
  candidate: Candidate | undefined,
  choices: readonly T[],
): T | undefined {
  const value = asString(candidate);
  if (value === undefined || !candidate) return undefined;
  const lower = value.toLowerCase();
  if (!(choices as readonly string[]).includes(lower))
    fail(candidate, `${JSON.stringify(value)} is not one of ${choices.join(', ')}`);
  return lower as T;
}

function asTimeZone(candidate: Candidate | undefined): string | undefined {
  const value = asString(candidate);
  if (value === undefined || !candidate) return undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    fail(candidate, `${JSON.stringify(value)} is not an IANA time zone like Europe/Berlin`);
  }
  return value;
}

function asBasic(
  username: Candidate | undefined,
  password: Candidate | undefined,
): { username: string; password: string } | undefined {
  const user = asSecret(username);
  const pass = asSecret(password);
  if (user === undefined && pass === undefined) return undefined;
  // Half a credential would leave the API open while the operator believes it is protected.
  if (user === undefined)
    throw new ConfigError(
      `basic auth: a password is set (${password?.source}) but no username (DAGU_AUTH_BASIC_USERNAME)`,
    );
  if (pass === undefined)
    throw new ConfigError(
      `basic auth: a username is set (${username?.source}) but no password (DAGU_AUTH_BASIC_PASSWORD)`,
    );
  return { username: user, password: pass };
}

function asTls(
  cert: Candidate | undefined,
  key: Candidate | undefined,
): { certFile: string; keyFile: string } | undefined {
  const certFile = asPath(cert);
  const keyFile = asPath(key);
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined)
    throw new ConfigError(`TLS: a key file is set (${key?.source}) but no DAGU_CERT_FILE`);
  if (keyFile === undefined)
    throw new ConfigError(`TLS: a certificate file is set (${cert?.source}) but no DAGU_KEY_FILE`);
  checkReadableFile(certFile, cert!, 'certificate file');
  checkReadableFile(keyFile, key!, 'key file');
  return { certFile, keyFile };
}

function checkReadableFile(path: string, candidate: Candidate, what: string): void {
  try {
    if (!statSync(path).isFile()) fail(candidate, `${what} ${path} is not a file`);
    accessSync(path, constants.R_OK);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    fail(
      candidate,
      code === 'ENOENT' ? `${what} not found: ${path}` : `cannot read ${what} ${path}`,
    );
  }
}

function asQueueLimits(candidate: Candidate | undefined): Map<string, number> {
  const limits = new Map<string, number>();
  if (!candidate) return limits;
  if (!Array.isArray(candidate.value))
    fail(candidate, 'expected a list of {name, maxActiveRuns} entries');
  candidate.value.forEach((entry: unknown, index) => {
    const at = { ...candidate, source: `${candidate.source}[${index}]` };
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry))
      fail(at, 'expected {name, maxActiveRuns}');
    const { name, maxActiveRuns } = entry as { name?: unknown; maxActiveRuns?: unknown };
    if (typeof name !== 'string' || name.trim() === '') fail(at, 'name must be a non-empty string');
    if (limits.has(name)) fail(at, `queue ${JSON.stringify(name)} is configured twice`);
    const limit = maxActiveRuns ?? 1;
    if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)
      fail(at, 'maxActiveRuns must be a positive integer');
    limits.set(name, limit);
  });
  return limits;
}
