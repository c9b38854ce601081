import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseServerArgs, type LoadConfigInput } from './config.js';

let home: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'dagu-server-config-'));
});

afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

function writeConfig(yaml: string, path = join(home, 'config.yaml')): string {
  writeFileSync(path, yaml);
  return path;
}

function load(input: LoadConfigInput = {}) {
  return loadConfig({ cwd: home, ...input, env: { DAGU_HOME: home, ...input.env } });
}

function loadError(input: LoadConfigInput = {}): string {
  try {
    load(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('listens on 127.0.0.1:8080 with everything under the home and auth off', () => {
    const config = load();
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      basePath: '',
      home,
      dagsDir: join(home, 'dags'),
      dataDir: join(home, 'data'),
      logDir: join(home, 'logs'),
      auth: {},
      publicMetrics: false,
      permissions: { writeDAGs: true, runDAGs: true },
      examples: true,
    });
    expect(config.queues.enabled).toBe(true);
    expect(config.queues.limits.size).toBe(0);
    expect(config.tls).toBeUndefined();
    expect(config.configFile).toBeUndefined();
  });

  it('uses the per-user directories when DAGU_HOME is not set', () => {
    const env = { XDG_DATA_HOME: join(home, 'data'), XDG_CONFIG_HOME: join(home, 'config') };
    const config = loadConfig({ env, cwd: home });
    expect(config.home).toBe(join(home, 'data', 'dagu'));
    expect(config.dagsDir).toBe(join(home, 'data', 'dagu', 'dags'));
    expect(config.configFile).toBeUndefined();
    // Dagu's config file place: ~/.config/dagu/config.yaml.
    mkdirSync(join(home, 'config', 'dagu'), { recursive: true });
    writeConfig('port: 9999\n', join(home, 'config', 'dagu', 'config.yaml'));
    expect(loadConfig({ env, cwd: home })).toMatchObject({
      port: 9999,
      configFile: join(home, 'config', 'dagu', 'config.yaml'),
    });
  });
});

describe('loadConfig precedence: flag > environment > config file > default', () => {
  beforeEach(() => {
    writeConfig(
      [
        'host: 0.0.0.0',
        'port: 9000',
        'basePath: /from-file',
        'dagsDir: file-dags',
        'paths:',
        '  dataDir: /srv/file-data',
        '  logDir: /srv/file-logs',
      ].join('\n'),
    );
  });

  it('takes the config file over the defaults', () => {
    const config = load();
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 9000,
      basePath: '/from-file',
      dataDir: '/srv/file-data',
      logDir: '/srv/file-logs',
      configFile: join(home, 'config.yaml'),
    });
    // A relative path in the file is relative to the file's directory.
    expect(config.dagsDir).toBe(join(home, 'file-dags'));
  });

  it('takes environment variables over the config file', () => {
    const config = load({
      env: {
        DAGU_HOST: '127.0.0.2',
        DAGU_PORT: '9100',
        DAGU_BASE_PATH: '/from-env/',
        DAGU_DAGS_DIR: '/srv/env-dags',
        DAGU_DATA_DIR: '/srv/env-data',
        DAGU_LOG_DIR: '/srv/env-logs',
      },
    });
    expect(config).toMatchObject({
      host: '127.0.0.2',
      port: 9100,
      basePath: '/from-env',
      dagsDir: '/srv/env-dags',
      dataDir: '/srv/env-data',
      logDir: '/srv/env-logs',
    });
  });

  it('takes flags over environment variables', () => {
    const flags = parseServerArgs([
      '--host',
      '::1',
      '--port=9200',
      '--dags',
      'flag-dags',
      '--base-path',
      'dagu',
    ]);
    const config = load({
      flags,
      env: {
        DAGU_HOST: '127.0.0.2',
        DAGU_PORT: '9100',
        DAGU_DAGS_DIR: '/srv/env-dags',
        DAGU_BASE_PATH: '/env',
      },
    });
    expect(config).toMatchObject({ host: '::1', port: 9200, basePath: '/dagu' });
    // Relative flag and environment paths are relative to the working directory.
    expect(config.dagsDir).toBe(join(home, 'flag-dags'));
  });

  it('accepts Dagu short flags and DAGU_DAGS as the older name of DAGU_DAGS_DIR', () => {
    expect(load({ flags: parseServerArgs(['-p', '0', '-s', 'localhost']) })).toMatchObject({
      port: 0,
      host: 'localhost',
    });
    expect(load({ env: { DAGU_DAGS: '/srv/old-name' } }).dagsDir).toBe('/srv/old-name');
    expect(load({ env: { DAGU_DAGS: '/srv/old', DAGU_DAGS_DIR: '/srv/new' } }).dagsDir).toBe(
      '/srv/new',
    );
  });

  it('treats an empty environment variable as unset', () => {
    expect(load({ env: { DAGU_PORT: '' } }).port).toBe(9000);
  });

  it('reads the file given by --config instead of <home>/config.yaml', () => {
    const other = writeConfig('port: 7000\n', join(home, 'other.yaml'));
    const config = load({ flags: parseServerArgs(['--config', other]) });
    expect(config.port).toBe(7000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.configFile).toBe(other);
  });
});

describe('loadConfig auth, TLS, metrics, permissions, queues', () => {
  it('reads auth from the environment and the config file, env first', () => {
    writeConfig(
      [
        'auth:',
        '  basic: { username: file-user, password: file-pass }',
        '  token: { value: file-token }',
        '  jwt: { secret: file-secret }',
      ].join('\n'),
    );
    expect(load().auth).toEqual({
      basic: { username: 'file-user', password: 'file-pass' },
      token: 'file-token',
      jwtSecret: 'file-secret',
    });
    expect(
      load({
        env: {
          DAGU_AUTH_BASIC_USERNAME: 'env-user',
          DAGU_AUTH_BASIC_PASSWORD: 'env-pass',
          DAGU_AUTH_TOKEN: 'env-token',
          DAGU_AUTH_JWT_SECRET: 'env-secret',
        },
      }).auth,
    ).toEqual({
      basic: { username: 'env-user', password: 'env-pass' },
      token: 'env-token',
      jwtSecret: 'env-secret',
    });
  });

  it('refuses half a basic credential instead of running open', () => {
    expect(loadError({ env: { DAGU_AUTH_BASIC_USERNAME: 'admin' } })).toMatch(
      /username is set .* but no password/,
    );
    expect(loadError({ env: { DAGU_AUTH_BASIC_PASSWORD: 'secret-value' } })).toMatch(
      /password is set .* but no username/,
    );
  });

  it('never puts a secret into an error message', () => {
    writeConfig('auth:\n  token:\n    value: 12345\n');
    const message = loadError();
    expect(message).toMatch(/auth\.token\.value: expected a string/);
    expect(message).not.toContain('12345');
  });

  it('checks TLS files and needs both of them', () => {
    const cert = join(home, 'cert.pem');
    const key = join(home, 'key.pem');
    writeFileSync(cert, 'cert');
    writeFileSync(key, 'key');
    expect(load({ env: { DAGU_CERT_FILE: cert, DAGU_KEY_FILE: key } }).tls).toEqual({
      certFile: cert,
      keyFile: key,
    });
    expect(loadError({ env: { DAGU_CERT_FILE: cert } })).toMatch(/no DAGU_KEY_FILE/);
    expect(
      loadError({ env: { DAGU_CERT_FILE: join(home, 'missing.pem'), DAGU_KEY_FILE: key } }),
    ).toBe(`invalid DAGU_CERT_FILE: certificate file not found: ${join(home, 'missing.pem')}`);
    writeConfig('tls:\n  certFile: cert.pem\n  keyFile: nope.pem\n');
    expect(loadError()).toMatch(/config\.yaml: tls\.keyFile: key file not found: .*nope\.pem/);
  });

  it('reads DAGU_METRICS, DAGU_TZ and the permissions', () => {
    writeConfig('metrics: public\npermissions:\n  writeDAGs: false\n  runDAGs: true\n');
    expect(load()).toMatchObject({
      publicMetrics: true,
      permissions: { writeDAGs: false, runDAGs: true },
    });
    expect(
      load({
        env: {
          DAGU_METRICS: 'private',
          DAGU_PERMISSIONS_WRITE_DAGS: 'true',
          DAGU_PERMISSIONS_RUN_DAGS: '0',
          DAGU_TZ: 'Europe/Berlin',
        },
      }),
    ).toMatchObject({
      publicMetrics: false,
      permissions: { writeDAGs: true, runDAGs: false },
      tz: 'Europe/Berlin',
    });
  });

  it('has no CORS origins and no extra hosts by default; reads both from env and file', () => {
    expect(load()).toMatchObject({ corsAllowedOrigins: [], allowedHosts: [] });
    writeConfig(
      [
        'cors:',
        '  allowedOrigins: [https://ui.example, "http://localhost:5173/"]',
        'allowedHosts: [dagu.internal, "[::1]"]',
      ].join('\n'),
    );
    expect(load()).toMatchObject({
      corsAllowedOrigins: ['https://ui.example', 'http://localhost:5173'],
      allowedHosts: ['dagu.internal', '[::1]'],
    });
    expect(
      load({
        env: {
          DAGU_CORS_ALLOWED_ORIGINS: ' * ',
          DAGU_ALLOWED_HOSTS: 'Dagu.Example.com, 10.0.0.5,,dagu_svc',
        },
      }),
    ).toMatchObject({
      corsAllowedOrigins: ['*'],
      allowedHosts: ['dagu.example.com', '10.0.0.5', 'dagu_svc'],
    });
  });

  it('refuses origins with a path or no scheme, and hosts with a port', () => {
    expect(loadError({ env: { DAGU_CORS_ALLOWED_ORIGINS: 'https://ui.example/app' } })).toBe(
      'invalid DAGU_CORS_ALLOWED_ORIGINS: "https://ui.example/app" is not an origin like https://ui.example:8443 (no path) or *',
    );
    expect(loadError({ env: { DAGU_CORS_ALLOWED_ORIGINS: 'ui.example' } })).toContain(
      '"ui.example" is not an origin',
    );
    expect(loadError({ env: { DAGU_ALLOWED_HOSTS: 'dagu.example:8080' } })).toBe(
      'invalid DAGU_ALLOWED_HOSTS: "dagu.example:8080" is not a host name or IP address without port, or *',
    );
    writeConfig('allowedHosts: 42\n');
    expect(loadError()).toContain('allowedHosts: expected a list or a comma-separated string');
  });

  it('reads the global queues from the config file', () => {
    writeConfig(
      [
        'queues:',
        '  enabled: true',
        '  config:',
        '    - name: batch',
        '      maxActiveRuns: 3',
        '    - name: serial',
        '      maxActiveRuns: 1',
      ].join('\n'),
    );
    const { queues } = load();
    expect(queues.enabled).toBe(true);
    expect([...queues.limits]).toEqual([
      ['batch', 3],
      ['serial', 1],
    ]);
    writeConfig('queues:\n  enabled: false\n');
    expect(load().queues.enabled).toBe(false);
  });
});

describe('loadConfig errors name the bad value and where it came from', () => {
  it.each([
    [{ flags: { port: 'http' } }, 'invalid --port: "http" is not a port number (0-65535)'],
    [{ env: { DAGU_PORT: '70000' } }, 'invalid DAGU_PORT: "70000" is not a port number (0-65535)'],
    [{ env: { DAGU_PORT: '-1' } }, 'invalid DAGU_PORT: "-1" is not a port number (0-65535)'],
    [{ env: { DAGU_PORT: '80.5' } }, 'invalid DAGU_PORT: "80.5" is not a port number (0-65535)'],
    [
      { env: { DAGU_METRICS: 'open' } },
      'invalid DAGU_METRICS: "open" is not one of public, private',
    ],
    [
      { env: { DAGU_PERMISSIONS_RUN_DAGS: 'sometimes' } },
      'invalid DAGU_PERMISSIONS_RUN_DAGS: "sometimes" is not true or false',
    ],
    [
      { env: { DAGU_TZ: 'Mars/Olympus' } },
      'invalid DAGU_TZ: "Mars/Olympus" is not an IANA time zone',
    ],
    [{ env: { DAGU_BASE_PATH: '/a b' } }, 'invalid DAGU_BASE_PATH: "/a b" is not a URL path'],
    [{ env: { DAGU_BASE_PATH: '/a/../b' } }, 'invalid DAGU_BASE_PATH: "/a/../b" is not a URL path'],
  ] satisfies [LoadConfigInput, string][])('%o', (input, message) => {
    expect(loadError(input)).toContain(message);
  });

  it('reports a bad port in the config file with the file and key', () => {
    writeConfig('port: eighty\n');
    expect(loadError()).toBe(
      `invalid ${join(home, 'config.yaml')}: port: "eighty" is not a port number (0-65535)`,
    );
  });

  it('reports a missing --config file, invalid YAML and a non-mapping file', () => {
    expect(loadError({ flags: { config: 'absent.yaml' } })).toBe(
      `config file not found: ${join(home, 'absent.yaml')}`,
    );
    writeConfig('port: [1, 2\n');
    expect(loadError()).toMatch(/^invalid YAML in config file .*config\.yaml: /);
    writeConfig('- just\n- a list\n');
    expect(loadError()).toMatch(/must be a mapping/);
  });

  it('reports bad queue entries with their index', () => {
    writeConfig('queues:\n  config:\n    - name: a\n      maxActiveRuns: 0\n');
    expect(loadError()).toMatch(/queues\.config\[0\]: maxActiveRuns must be a positive integer/);
    writeConfig('queues:\n  config:\n    - name: a\n    - name: a\n');
    expect(loadError()).toMatch(/queues\.config\[1\]: queue "a" is configured twice/);
    writeConfig('queues:\n  config: batch\n');
    expect(loadError()).toMatch(/queues\.config: expected a list/);
  });

  it('rejects unknown flags and positional arguments', () => {
    expect(() => parseServerArgs(['--prot', '80'])).toThrow(ConfigError);
    expect(() => parseServerArgs(['serve'])).toThrow(ConfigError);
    expect(() => parseServerArgs(['--port'])).toThrow(ConfigError);
  });
});

describe('loadConfig database URL', () => {
  it('takes DAGU_DATABASE_URL over database.url; without either, no URL (SQLite)', () => {
    expect(load().databaseUrl).toBeUndefined();
    writeConfig('database:\n  url: postgres://dagu@db.internal:5432/dagu\n');
    expect(load().databaseUrl).toBe('postgres://dagu@db.internal:5432/dagu');
    expect(load({ env: { DAGU_DATABASE_URL: 'postgresql://u:p@h/other' } }).databaseUrl).toBe(
      'postgresql://u:p@h/other',
    );
  });

  it('refuses a URL that is not PostgreSQL without echoing it (it may hold a password)', () => {
    const message = loadError({ env: { DAGU_DATABASE_URL: 'mysql://root:s3cret@h/db' } });
    expect(message).toContain('invalid DAGU_DATABASE_URL: expected a PostgreSQL URL');
    expect(message).not.toContain('s3cret');
  });

  it('takes distributed execution on PostgreSQL too (workers are shared by the servers)', () => {
    const config = load({
      env: {
        DAGU_DATABASE_URL: 'postgres://u@h/db',
        DAGU_DEFAULT_EXECUTION_MODE: 'distributed',
      },
    });
    expect(config.workers.executionMode).toBe('distributed');
    expect(config.databaseUrl).toBe('postgres://u@h/db');
  });
});
