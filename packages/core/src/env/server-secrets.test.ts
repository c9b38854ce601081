import { describe, expect, it } from 'vitest';
import { isServerSecret, scrubServerSecrets } from './server-secrets.js';

describe('server secrets', () => {
  it('recognises the auth, TLS and database settings', () => {
    for (const name of [
      'DAGU_AUTH_JWT_SECRET',
      'DAGU_AUTH_BASIC_PASSWORD',
      'DAGU_AUTH_BASIC_USERNAME',
      'DAGU_AUTH_TOKEN',
      'DAGU_BASICAUTH_PASSWORD',
      'DAGU_CERT_FILE',
      'DAGU_KEY_FILE',
      'DAGU_DATABASE_URL',
      'DAGU_SOMETHING_API_TOKEN',
    ])
      expect(isServerSecret(name), name).toBe(true);
  });

  it('leaves ordinary settings and the user environment alone', () => {
    for (const name of [
      'DAGU_HOME',
      'DAGU_DAGS_DIR',
      'DAGU_DEFAULT_SHELL',
      'DAGU_TZ',
      'PATH',
      'HOME',
      'MY_PASSWORD',
      'GITHUB_TOKEN',
    ])
      expect(isServerSecret(name), name).toBe(false);
  });

  it('returns a filtered copy', () => {
    const env = { PATH: '/bin', DAGU_AUTH_JWT_SECRET: 's3cret', DAGU_HOME: '/h', UNSET: undefined };
    expect(scrubServerSecrets(env)).toEqual({ PATH: '/bin', DAGU_HOME: '/h' });
    expect(env.DAGU_AUTH_JWT_SECRET).toBe('s3cret');
  });
});
