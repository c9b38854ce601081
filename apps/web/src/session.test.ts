import { describe, expect, it } from 'vitest';
import { jwtRole, may, parseNoAuth, parsePermissions, roleOf } from './session.js';

const jwt = (claims: object) =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.signature`;

describe('roles in the browser', () => {
  it('reads the role claim of a JWT; an unknown role is a viewer, as on the server', () => {
    expect(jwtRole(jwt({ role: 'operator' }))).toBe('operator');
    expect(jwtRole(jwt({ role: 'root' }))).toBe('viewer');
    expect(jwtRole(jwt({ sub: 'x' }))).toBe('viewer');
    expect(jwtRole('not-a-jwt')).toBeUndefined();
  });

  it('basic auth and the static token are admin', () => {
    expect(roleOf(undefined)).toBe('admin');
    expect(roleOf({ basic: { username: 'a', password: 'b' } })).toBe('admin');
    expect(roleOf({ token: 'static-token' })).toBe('admin');
    expect(roleOf({ token: jwt({ role: 'viewer' }) })).toBe('viewer');
  });

  it('shows run buttons to operators and admins, write buttons to admins only', () => {
    expect(may('viewer', 'run')).toBe(false);
    expect(may('operator', 'run')).toBe(true);
    expect(may('operator', 'write')).toBe(false);
    expect(may('admin', 'write')).toBe(true);
  });

  it('hides what a permission switch turns off, whatever the role', () => {
    const noRuns = parsePermissions('{"permissions":{"writeDAGs":true,"runDAGs":false}}');
    expect(noRuns).toEqual({ writeDAGs: true, runDAGs: false });
    expect(may('admin', 'run', noRuns)).toBe(false);
    expect(may('admin', 'write', noRuns)).toBe(true);
    const noWrites = parsePermissions('{"permissions":{"writeDAGs":false}}');
    expect(may('admin', 'write', noWrites)).toBe(false);
    expect(may('operator', 'run', noWrites)).toBe(true);
    // The dev server writes nothing: the role alone decides.
    expect(parsePermissions('{}')).toEqual({ writeDAGs: true, runDAGs: true });
    expect(parsePermissions('')).toEqual({ writeDAGs: true, runDAGs: true });
  });

  it('uses browser credentials only when the server says its API asks for none', () => {
    expect(parseNoAuth('{"permissions":{},"auth":false}')).toBe(true);
    expect(parseNoAuth('{"auth":true}')).toBe(false);
    // The dev server writes nothing: the UI assumes auth and never uses browser credentials.
    expect(parseNoAuth('{}')).toBe(false);
    expect(parseNoAuth('')).toBe(false);
  });
});
