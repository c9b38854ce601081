// What the handlers still do with a request's names after the request validator
// (validate.ts) checked them against the OpenAPI document.
import { badRequest } from './errors.js';

/**
 * A `fileName` path/body value (already a safe name, by the document) → canonical form: the base
 * name without `.yaml`/`.yml`, which must not be empty (api-v2.md Part A #3).
 */
export function canonicalFileName(value: string, what = 'fileName'): string {
  const base = value.replace(/\.(yaml|yml)$/, '');
  if (base.length === 0) throw badRequest(`${what} is empty`);
  return base;
}
