// The ssh executor against a real OpenSSH server (Debian's openssh-server) started on a free
// loopback port with a temporary config, host key and authorized key. As root, the commands run
// once as root and once as an ordinary user created here; otherwise as the current user.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DagRunner, DagRunStatus, loadDag, NodeStatus, parseDag } from '@dagu-ts/core';

const SSHD = '/usr/sbin/sshd';
const TEST_USER = 'dagu-ssh-test';
const isRoot = process.getuid?.() === 0;
// CI must run these tests (.ci/run installs openssh-server); only a developer machine without
// sshd may skip them.
const available = existsSync(SSHD);
if (!available && process.env.CI) throw new Error(`${SSHD} is missing: install openssh-server`);

const work = mkdtempSync(join(tmpdir(), 'dagu-ssh-'));
const logDir = join(work, 'logs');
const key = join(work, 'id_client');
const wrongKey = join(work, 'id_wrong');
const hostKey = join(work, 'host_key');
const password = randomBytes(12).toString('hex');
let port = 0;
let sshd: ChildProcess | undefined;

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolvePort(free));
    });
  });
}

/** Resolves when the server sends its SSH banner. */
async function waitForBanner(target: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const banner = await new Promise<string>((done) => {
      const socket = new Socket();
      socket.once('data', (data) => {
        socket.destroy();
        done(data.toString());
      });
      socket.once('error', () => done(''));
      socket.connect(target, '127.0.0.1');
    });
    if (banner.startsWith('SSH-')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('sshd did not start');
}

beforeAll(async () => {
  if (!available) return;
  mkdirSync(logDir);
  for (const file of [key, wrongKey, hostKey])
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  // sshd reads the authorized keys as the user logging in.
  chmodSync(work, 0o711);
  writeFileSync(join(work, 'authorized_keys'), readFileSync(`${key}.pub`), { mode: 0o644 });
  if (isRoot) {
    mkdirSync('/run/sshd', { recursive: true });
    try {
      execFileSync('id', [TEST_USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['-m', '-s', '/bin/sh', TEST_USER]);
    }
    execFileSync('chpasswd', { input: `${TEST_USER}:${password}\n` });
  }
  port = await freePort();
  const config = join(work, 'sshd_config');
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(work, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(work, 'authorized_keys')}`,
      // The temporary files live under /tmp, whose modes StrictModes refuses.
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication yes',
      'PermitRootLogin yes',
      'KbdInteractiveAuthentication no',
      '',
    ].join('\n'),
  );
  sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd.stderr!.resume();
  await waitForBanner(port);
});

afterAll(() => {
  sshd?.kill();
  rmSync(work, { recursive: true, force: true });
});

/** Root logs in as root and as an ordinary user; anyone else as themself. */
const users = isRoot ? ['root', TEST_USER] : [userInfo().username];

function sshDag(
  command: string,
  config: Record<string, unknown>,
  extra = '',
): ReturnType<typeof parseDag> {
  const yaml = `steps:
  - name: remote
    executor:
      type: ssh
      config: ${JSON.stringify(config)}
    command: ${JSON.stringify(command)}
${extra}`;
  return parseDag(yaml, { name: 'ssh-test' });
}

const read = (path: string): string => (path && existsSync(path) ? readFileSync(path, 'utf8') : '');

/** Processes on this machine (the server) whose command line contains `text`, with their user. */
function remoteProcesses(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-a', '-f', text], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
  } catch {
    return [];
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(!available)('ssh executor against OpenSSH', () => {
  describe.each(users)('as %s', (user) => {
    const base = (): Record<string, unknown> => ({
      user,
      ip: '127.0.0.1',
      port,
      key,
      StrictHostKeyChecking: false,
    });

    it('streams stdout and stderr to the step logs and captures output', async () => {
      const dag = sshDag('echo "hello $(id -un)"; echo "to stderr" >&2', base(), '    output: OUT');
      const result = await new DagRunner({ dag, logDir }).run();
      const node = result.snapshot.nodes[0]!;
      expect(node.error).toBe('');
      expect(result.status).toBe(DagRunStatus.Success);
      expect(node.exitCode).toBe(0);
      expect(read(node.stdout)).toBe(`hello ${user}\n`);
      expect(read(node.stderr)).toBe('to stderr\n');
      expect(result.outputs).toEqual({ OUT: `hello ${user}` });
    });

    it('a failing command fails the step with its exit status', async () => {
      const dag = sshDag('echo partial; exit 3', base());
      const result = await new DagRunner({ dag, logDir }).run();
      const node = result.snapshot.nodes[0]!;
      expect(result.status).toBe(DagRunStatus.Failed);
      expect(node.status).toBe(NodeStatus.Failed);
      expect(node.exitCode).toBe(3);
      expect(node.error).toBe('exit status 3');
      expect(read(node.stdout)).toBe('partial\n');
    });

    it('a stop ends the remote command: nothing is left running on the server', async () => {
      const mark = String(randomInt(100_000, 999_999));
      const dag = sshDag(`echo started; sleep 3${mark}; echo never`, base());
      const stop = new AbortController();
      const runner = new DagRunner({ dag, logDir, signal: stop.signal });
      const done = runner.run();
      const node = runner.snapshot.nodes[0]!;
      await until(() => read(node.stdout).includes('started'), 'the remote command to start');
      await until(() => remoteProcesses(`sleep 3${mark}`).length > 0, 'the remote sleep');
      // The remote processes belong to the user the step logged in as.
      const pid = remoteProcesses(`sleep 3${mark}`)[0]!.split(' ')[0]!;
      expect(execFileSync('ps', ['-o', 'user=', '-p', pid], { encoding: 'utf8' }).trim()).toBe(
        user,
      );
      stop.abort();
      const result = await done;
      expect(result.status).toBe(DagRunStatus.Canceled);
      expect(node.status).toBe(NodeStatus.Canceled);
      expect(read(node.stdout)).not.toContain('never');
      await until(() => remoteProcesses(mark).length === 0, 'the remote processes to end', 5_000);
    });

    it('the step timeout ends the remote command and fails the step', async () => {
      const mark = String(randomInt(100_000, 999_999));
      const dag = sshDag(`sleep 4${mark}`, base(), '    timeoutSec: 1');
      const result = await new DagRunner({ dag, logDir }).run();
      const node = result.snapshot.nodes[0]!;
      expect(node.status).toBe(NodeStatus.Failed);
      expect(node.exitCode).toBe(124);
      expect(node.error).toBe('step timed out after 1s');
      await until(() => remoteProcesses(mark).length === 0, 'the remote processes to end', 5_000);
    });
  });

  const client = (): Record<string, unknown> => ({
    user: users[0],
    ip: '127.0.0.1',
    port,
    key,
  });

  it('a wrong key is a clear step error', async () => {
    const dag = sshDag('echo never', { ...client(), key: wrongKey });
    const result = await new DagRunner({ dag, logDir }).run();
    const node = result.snapshot.nodes[0]!;
    expect(node.status).toBe(NodeStatus.Failed);
    expect(node.error).toMatch(
      /^ssh: cannot connect to .+@127\.0\.0\.1:\d+: authentication failed/,
    );
  });

  it('a missing key file is a clear step error', async () => {
    const dag = sshDag('echo never', { ...client(), key: '~/no/such/key' });
    const node = (await new DagRunner({ dag, logDir }).run()).snapshot.nodes[0]!;
    expect(node.error).toMatch(/^ssh: cannot read key .*\/no\/such\/key: ENOENT/);
  });

  it('a refused connection is a clear step error', async () => {
    const closed = await freePort();
    const dag = sshDag('echo never', { ...client(), port: closed });
    const node = (await new DagRunner({ dag, logDir }).run()).snapshot.nodes[0]!;
    expect(node.status).toBe(NodeStatus.Failed);
    expect(node.error).toBe(
      `ssh: cannot connect to ${users[0]}@127.0.0.1:${closed}: connect ECONNREFUSED 127.0.0.1:${closed}`,
    );
  });

  it('a host that never answers fails within the step timeout', async () => {
    // A listening socket that never sends a banner: the handshake waits until the timeout.
    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentPort = (silent.address() as { port: number }).port;
    try {
      const dag = sshDag('echo never', { ...client(), port: silentPort }, '    timeoutSec: 1');
      const node = (await new DagRunner({ dag, logDir }).run()).snapshot.nodes[0]!;
      expect(node.status).toBe(NodeStatus.Failed);
      expect(node.error).toBe('step timed out after 1s');
    } finally {
      silent.close();
    }
  });

  it('`host` is accepted as an alias of `ip`, and the port defaults from the config', async () => {
    const { ip: _ip, ...rest } = client();
    const dag = sshDag('echo via-host', { ...rest, host: '127.0.0.1' });
    const result = await new DagRunner({ dag, logDir }).run();
    expect(read(result.snapshot.nodes[0]!.stdout)).toBe('via-host\n');
  });

  it('checks the host key against a known-hosts file when asked to', async () => {
    const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ');
    const wrongPub = readFileSync(`${wrongKey}.pub`, 'utf8').trim().split(' ');
    const good = join(work, 'known_hosts_good');
    const bad = join(work, 'known_hosts_bad');
    writeFileSync(good, `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`);
    writeFileSync(bad, `[127.0.0.1]:${port} ${wrongPub[0]} ${wrongPub[1]}\n`);

    const ok = sshDag('echo trusted', {
      ...client(),
      StrictHostKeyChecking: true,
      knownHostsFile: good,
    });
    const okNode = (await new DagRunner({ dag: ok, logDir }).run()).snapshot.nodes[0]!;
    expect(okNode.error).toBe('');
    expect(read(okNode.stdout)).toBe('trusted\n');

    const refused = sshDag('echo never', { ...client(), knownHostsFile: bad });
    const refusedNode = (await new DagRunner({ dag: refused, logDir }).run()).snapshot.nodes[0]!;
    expect(refusedNode.status).toBe(NodeStatus.Failed);
    expect(refusedNode.error).toMatch(/^ssh: cannot connect to .*: .*verification failed/i);
    expect(read(refusedNode.stdout)).toBe('');
  });

  it.skipIf(!isRoot)('logs in with a password when no key is given', async () => {
    const dag = sshDag('id -un', { user: TEST_USER, ip: '127.0.0.1', port, password });
    const node = (await new DagRunner({ dag, logDir }).run()).snapshot.nodes[0]!;
    expect(node.error).toBe('');
    expect(read(node.stdout)).toBe(`${TEST_USER}\n`);
  });

  it('runs examples/ssh.yaml against the test server', async () => {
    const dag = await loadDag(resolve(__dirname, '../../../../examples/ssh.yaml'));
    const params = `SSH_USER=${users[0]} SSH_HOST=127.0.0.1 SSH_PORT=${port} SSH_KEY=${key}`;
    const result = await new DagRunner({ dag, logDir, params: { text: params } }).run();
    expect(result.snapshot.nodes.map((n) => n.error)).toEqual(['']);
    expect(result.status).toBe(DagRunStatus.Success);
    expect(read(result.snapshot.nodes[0]!.stdout)).toContain(`${users[0]} on `);
  });
});
