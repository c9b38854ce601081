// Reading what a request says: path identifiers, query values and JSON bodies. Every helper
// either returns a well-typed value or throws a 400 bad_request (api-v2.md Part A #3, #4, #7).
import { isValidDagRunId } from '@dagu-ts/core';
import type { Request } from 'express';
import { badRequest } from './errors.js';

const UNSAFE_NAME = /[/\\\x00]|\.\./; // eslint-disable-line no-control-regex

/** A name that could leave a directory: `/`, `\`, `..` anywhere, or NUL (Part A #3). */
function rejectUnsafeName(value: string, what: string): void {
  if (value.length === 0) throw badRequest(`${what} is empty`);
  if (UNSAFE_NAME.test(value))
    throw badRequest(
      `invalid ${what} ${JSON.stringify(value)}: it contains "/", "\\", ".." or NUL`,
    );
}

/** `fileName` path/body value → canonical form (base name without `.yaml`/`.yml`). */
export function canonicalFileName(value: string, what = 'fileName'): string {
  rejectUnsafeName(value, what);
  const base = value.replace(/\.(yaml|yml)$/, '');
  if (base.length === 0) throw badRequest(`${what} is empty`);
  return base;
}

/** A DAG name as used under /dag-runs/{name}. */
export function dagName(value: string): string {
  rejectUnsafeName(value, 'DAG name');
  return value;
}

/** A run id from a path; `latest` allowed where `allowLatest`. */
export function runIdParam(value: string, what = 'dagRunId', allowLatest = true): string {
  if (allowLatest && value === 'latest') return value;
  if (!isValidDagRunId(value))
    throw badRequest(
      `invalid ${what} ${JSON.stringify(value)}: use letters, digits, ".", "_" and "-" (at most 64, no "..")`,
    );
  return value;
}

/** A route parameter as a string (Express 5 types them loosely). */
export function param(req: Request, name: string): string {
  const value = (req.params as Record<string, unknown>)[name];
  if (typeof value !== 'string') throw badRequest(`missing path parameter ${name}`);
  return value;
}

// ---- query ---------------------------------------------------------------------------------

function queryValue(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest(`query parameter ${name} must be given once`);
  return value;
}

export function queryString(req: Request, name: string): string | undefined {
  const value = queryValue(req, name);
  return value === '' ? undefined : value;
}

/** An integer query value within [min, max]; undefined when absent or empty. */
export function queryInt(
  req: Request,
  name: string,
  bounds: { min?: number; max?: number } = {},
): number | undefined {
  const value = queryValue(req, name);
  if (value === undefined || value === '') return undefined;
  if (!/^-?\d{1,16}$/.test(value))
    throw badRequest(`query parameter ${name} must be an integer, got ${JSON.stringify(value)}`);
  const number = Number(value);
  if (!Number.isSafeInteger(number))
    throw badRequest(`query parameter ${name} is out of range: ${value}`);
  if (bounds.min !== undefined && number < bounds.min)
    throw badRequest(`query parameter ${name} must be at least ${bounds.min}, got ${value}`);
  if (bounds.max !== undefined && number > bounds.max)
    throw badRequest(`query parameter ${name} must be at most ${bounds.max}, got ${value}`);
  return number;
}

// ---- body ----------------------------------------------------------------------------------

export type JsonObject = Record<string, unknown>;

/** The parsed JSON body as an object; `{}` when the request had no body and it is optional. */
export function bodyObject(req: Request, required: boolean): JsonObject {
  const body: unknown = req.body;
  if (body === undefined || body === null) {
    if (required) throw badRequest('a JSON object body is required');
    return {};
  }
  if (typeof body !== 'object' || Array.isArray(body))
    throw badRequest('the request body must be a JSON object');
  return body as JsonObject;
}

export function optionalString(body: JsonObject, name: string): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest(`field ${name} must be a string`);
  return value;
}

export function requiredString(body: JsonObject, name: string): string {
  const value = optionalString(body, name);
  if (value === undefined) throw badRequest(`field ${name} is required`);
  return value;
}

export function optionalBoolean(body: JsonObject, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badRequest(`field ${name} must be a boolean`);
  return value;
}

export function requiredBoolean(body: JsonObject, name: string): boolean {
  const value = optionalBoolean(body, name);
  if (value === undefined) throw badRequest(`field ${name} is required`);
  return value;
}

export function requiredInt(body: JsonObject, name: string, min: number, max: number): number {
  const value = body[name];
  if (value === undefined || value === null) throw badRequest(`field ${name} is required`);
  if (typeof value !== 'number' || !Number.isInteger(value))
    throw badRequest(`field ${name} must be an integer`);
  if (value < min || value > max)
    throw badRequest(`field ${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}
