// Identifiers of runs (dag-yaml.md §4.12).
import { createHash, randomBytes } from 'node:crypto';

/** A UUID v7: time-ordered, so run ids sort by creation time. */
export function newDagRunId(now = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function newAttemptId(): string {
  return randomBytes(3).toString('hex');
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Caller-chosen run ids: a letter or digit, then letters, digits, `.`, `_` and `-`, at most 64
 * characters, never `..` (api-v2.md Part A #4; dots let `deploy-v1.2.3` through).
 */
export function isValidDagRunId(id: string): boolean {
  return RUN_ID.test(id) && !id.includes('..');
}

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

function base58(bytes: Uint8Array): string {
  let value = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  let text = '';
  while (value > 0n) {
    text = BASE58[Number(value % 58n)]! + text;
    value /= 58n;
  }
  for (const byte of bytes) {
    if (byte !== 0) break;
    text = `1${text}`;
  }
  return text;
}

/**
 * The id of a child run: deterministic from parent run, step and params, so a retried parent
 * finds the same child. A repeated execution adds random bytes to get a fresh child.
 */
export function childDagRunId(
  parentRunId: string,
  stepName: string,
  params: string,
  repeated = false,
): string {
  const suffix = repeated ? `:${randomBytes(8).toString('hex')}` : '';
  return base58(
    createHash('sha256').update(`${parentRunId}:${stepName}:${params}${suffix}`).digest(),
  );
}
