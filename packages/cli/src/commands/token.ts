// `dagu-ts token create --role R --ttl 24h [--subject S]`: prints an HS256 JWT signed with
// DAGU_AUTH_JWT_SECRET, for the server's bearer auth (api-v2.md Part A item 9). node:crypto only.
import { createHmac } from 'node:crypto';

export const TOKEN_ROLES = ['admin', 'operator', 'viewer', 'worker'] as const;
export type TokenRole = (typeof TOKEN_ROLES)[number];

export interface TokenClaims {
  sub: string;
  role: TokenRole;
  iat: number;
  exp: number;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86400 };
/** Ten years: longer lifetimes are almost certainly a typo. */
const MAX_TTL_SECONDS = 10 * 365 * 86400;

/** Seconds of a lifetime like `30m`, `24h`, `7d` or `1h30m`; undefined when it is not one. */
export function parseTtl(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+[smhd])+$/.test(trimmed)) return undefined;
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+)([smhd])/g))
    seconds += Number(amount) * UNIT_SECONDS[unit!]!;
  return seconds > 0 && seconds <= MAX_TTL_SECONDS ? seconds : undefined;
}

/** A compact JWS (header.payload.signature) with HS256. */
export function signJwt(claims: object, secret: string): string {
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

export async function tokenCreateCommand(options: {
  role: string;
  ttl: string;
  subject?: string;
}): Promise<number> {
  const secret = process.env.DAGU_AUTH_JWT_SECRET;
  if (!secret) return fail('DAGU_AUTH_JWT_SECRET is not set: export the secret the server uses');
  const role = options.role.trim().toLowerCase();
  if (!(TOKEN_ROLES as readonly string[]).includes(role))
    return fail(
      `unknown role ${JSON.stringify(options.role)}: use one of ${TOKEN_ROLES.join(', ')}`,
    );
  const ttl = parseTtl(options.ttl);
  if (ttl === undefined)
    return fail(
      `invalid --ttl ${JSON.stringify(options.ttl)}: use a duration like 30m, 24h or 7d (at most 10 years)`,
    );
  const subject = options.subject ?? 'dagu-ts';
  if (subject.trim() === '') return fail('--subject must not be empty');
  const iat = Math.floor(Date.now() / 1000);
  const claims: TokenClaims = { sub: subject, role: role as TokenRole, iat, exp: iat + ttl };
  process.stdout.write(`${signJwt(claims, secret)}\n`);
  return 0;
}

function fail(message: string): number {
  process.stderr.write(`dagu-ts token create: ${message}\n`);
  return 1;
}
