import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseTtl, tokenCreateCommand } from './token.js';

const SECRET = 'test-secret-for-jwt-signing';

/** Verifies an HS256 JWT independently of the code under test; returns its claims. */
function verifyJwt(token: string, secret: string): Record<string, unknown> {
  const parts = token.split('.');
  expect(parts).toHaveLength(3);
  const [header, payload, signature] = parts as [string, string, string];
  expect(JSON.parse(Buffer.from(header, 'base64url').toString('utf8'))).toEqual({
    alg: 'HS256',
    typ: 'JWT',
  });
  const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
  const actual = Buffer.from(signature, 'base64url');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected))
    throw new Error('signature does not verify');
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}

describe('dagu-ts token create', () => {
  let stdout: string;
  let stderr: string;

  beforeEach(() => {
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('prints a JWT that verifies with the secret, with the role and exp ttl seconds ahead', async () => {
    vi.stubEnv('DAGU_AUTH_JWT_SECRET', SECRET);
    const before = Math.floor(Date.now() / 1000);
    const code = await tokenCreateCommand({ role: 'operator', ttl: '24h' });
    const after = Math.floor(Date.now() / 1000);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout.endsWith('\n')).toBe(true);
    const claims = verifyJwt(stdout.trim(), SECRET);
    expect(claims.role).toBe('operator');
    expect(claims.sub).toBe('dagu-ts');
    const iat = claims.iat as number;
    expect(iat).toBeGreaterThanOrEqual(before);
    expect(iat).toBeLessThanOrEqual(after);
    expect(claims.exp).toBe(iat + 24 * 3600);
    expect(() => verifyJwt(stdout.trim(), 'another-secret')).toThrow('does not verify');
  });

  it('takes a subject and every role', async () => {
    vi.stubEnv('DAGU_AUTH_JWT_SECRET', SECRET);
    for (const role of ['admin', 'operator', 'viewer', 'worker']) {
      stdout = '';
      expect(await tokenCreateCommand({ role, ttl: '30m', subject: 'ci-bot' })).toBe(0);
      const claims = verifyJwt(stdout.trim(), SECRET);
      expect(claims).toMatchObject({ role, sub: 'ci-bot' });
      expect((claims.exp as number) - (claims.iat as number)).toBe(1800);
    }
  });

  it('fails with exit 1 and a clear message when the secret is missing', async () => {
    vi.stubEnv('DAGU_AUTH_JWT_SECRET', '');
    expect(await tokenCreateCommand({ role: 'admin', ttl: '1h' })).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/DAGU_AUTH_JWT_SECRET is not set/);
  });

  it('fails with exit 1 for an unknown role', async () => {
    vi.stubEnv('DAGU_AUTH_JWT_SECRET', SECRET);
    expect(await tokenCreateCommand({ role: 'root', ttl: '1h' })).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/unknown role "root": use one of admin, operator, viewer/);
  });

  it('fails with exit 1 for a bad ttl', async () => {
    vi.stubEnv('DAGU_AUTH_JWT_SECRET', SECRET);
    for (const ttl of ['', '24', 'h', '0h', '-1h', '1w', '1.5h', '99999d']) {
      stderr = '';
      expect(await tokenCreateCommand({ role: 'viewer', ttl })).toBe(1);
      expect(stderr).toMatch(/invalid --ttl/);
    }
    expect(stdout).toBe('');
  });
});

describe('parseTtl', () => {
  it('reads seconds, minutes, hours, days and combinations', () => {
    expect(parseTtl('45s')).toBe(45);
    expect(parseTtl('30m')).toBe(1800);
    expect(parseTtl('24h')).toBe(86400);
    expect(parseTtl('7d')).toBe(7 * 86400);
    expect(parseTtl('1h30m')).toBe(5400);
    expect(parseTtl('bogus')).toBeUndefined();
  });
});
