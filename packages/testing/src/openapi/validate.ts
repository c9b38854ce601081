// Test helper: checks a response against the OpenAPI document of @dagu-ts/api. Built on Ajv
// (JSON Schema 2020-12), compiled lazily. Test support only: nothing published imports it.
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { openApiDocument } from '@dagu-ts/api';
import type {
  HttpMethod,
  JsonSchema,
  MediaType,
  OpenApiDocument,
  OpenApiResponse as Response,
  Operation,
  Reference,
} from '@dagu-ts/api';

const ROOT_ID = 'urn:dagu-ts:openapi';
const SCHEMA_PREFIX = '#/components/schemas/';
const API_PREFIX = '/api/v2';
const METHODS: readonly HttpMethod[] = ['get', 'put', 'post', 'delete', 'patch'];

// ---------------------------------------------------------------------------------------------
// References and path matching.

/** Resolves a local `#/…` JSON pointer against the document; undefined when it points nowhere. */
export function resolvePointer(document: OpenApiDocument, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function deref<T extends object>(value: T | Reference): T {
  if (!('$ref' in value) || typeof value.$ref !== 'string') return value as T;
  const target = resolvePointer(openApiDocument, value.$ref);
  if (target === undefined || target === null || typeof target !== 'object') {
    throw new Error(`unresolvable $ref ${value.$ref}`);
  }
  return deref(target as T | Reference);
}

interface Template {
  path: string;
  segments: readonly string[];
}

let templates: Template[] | undefined;

const isParam = (segment: string) => segment.startsWith('{') && segment.endsWith('}');

/** Path relative to /api/v2, without query string or fragment. */
function normalisePath(path: string): string {
  let result = path.split(/[?#]/, 1)[0] ?? '';
  if (result === API_PREFIX || result.startsWith(`${API_PREFIX}/`)) {
    result = result.slice(API_PREFIX.length);
  }
  return result === '' ? '/' : result;
}

/**
 * The path template a concrete path (relative to /api/v2, or starting with /api/v2) belongs to.
 * Literal segments win over parameters, so /dags/search is never /dags/{fileName}.
 */
export function matchPath(path: string): string | undefined {
  templates ??= Object.keys(openApiDocument.paths).map((p) => ({
    path: p,
    segments: p.split('/').slice(1),
  }));
  const segments = normalisePath(path).split('/').slice(1);
  let best: { path: string; score: number[] } | undefined;
  for (const template of templates) {
    if (template.segments.length !== segments.length) continue;
    const score: number[] = [];
    let matches = true;
    template.segments.forEach((expected, index) => {
      const actual = segments[index] ?? '';
      if (isParam(expected)) {
        if (actual === '') matches = false;
        score.push(0);
      } else {
        if (actual !== expected) matches = false;
        score.push(1);
      }
    });
    if (!matches) continue;
    if (!best || compareScores(score, best.score) > 0) best = { path: template.path, score };
  }
  return best?.path;
}

function compareScores(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The operation serving `method path`, if the document has one. */
export function matchOperation(
  method: string,
  path: string,
): { template: string; method: HttpMethod; operation: Operation } | undefined {
  const template = matchPath(path);
  const lower = method.toLowerCase() as HttpMethod;
  if (template === undefined || !METHODS.includes(lower)) return undefined;
  const operation = openApiDocument.paths[template]?.[lower];
  return operation ? { template, method: lower, operation } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Ajv, compiled lazily.

let ajv: Ajv2020 | undefined;
const validators = new Map<string, ValidateFunction>();

/** Deep copy of a schema whose component references point into the Ajv root schema. */
function rebase(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rebase);
  if (value === null || typeof value !== 'object') return value;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    copy[key] =
      key === '$ref' && typeof inner === 'string' && inner.startsWith(SCHEMA_PREFIX)
        ? `${ROOT_ID}#/$defs/${inner.slice(SCHEMA_PREFIX.length)}`
        : rebase(inner);
  }
  return copy;
}

/** Every `x-…` extension keyword used in schemas, so that Ajv's strict mode accepts them. */
function extensionKeywords(value: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) extensionKeywords(item, found);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key.startsWith('x-')) found.add(key);
      else extensionKeywords(inner, found);
    }
  }
  return found;
}

function getAjv(): Ajv2020 {
  if (ajv) return ajv;
  const instance = new Ajv2020({
    allErrors: true,
    strict: true,
    strictTypes: true,
    allowUnionTypes: false,
    formats: {
      int32: true,
      int64: true,
      float: true,
      'date-time': (value: string) =>
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value),
      uuid: (value: string) =>
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value),
    },
  });
  const { schemas, parameters } = openApiDocument.components;
  instance.addVocabulary([...extensionKeywords([schemas, parameters])]);
  instance.addSchema({ $id: ROOT_ID, $defs: rebase(schemas) as Record<string, object> });
  ajv = instance;
  return instance;
}

function compile(key: string, schema: JsonSchema): ValidateFunction {
  let validator = validators.get(key);
  if (!validator) {
    validator = getAjv().compile(rebase(schema) as object);
    validators.set(key, validator);
  }
  return validator;
}

// ---------------------------------------------------------------------------------------------
// Error messages.

function valueAt(body: unknown, pointer: string): unknown {
  let node = body;
  for (const raw of pointer.split('/').slice(1)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function show(value: unknown, max = 60): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

function describe(error: ErrorObject, body: unknown): string {
  const where = `body${error.instancePath}`;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `${where} has unknown field "${String(params.additionalProperty)}"`;
    case 'required':
      return `${where} is missing required field "${String(params.missingProperty)}"`;
    case 'type':
      return `${where} must be ${String(params.type)}, got ${show(valueAt(body, error.instancePath))}`;
    case 'enum':
      return `${where} must be one of ${show(params.allowedValues, Infinity)}, got ${show(valueAt(body, error.instancePath))}`;
    case 'const':
      return `${where} must be ${show(params.allowedValue)}, got ${show(valueAt(body, error.instancePath))}`;
    case 'not':
      return `${where} is ${show(valueAt(body, error.instancePath))}: an empty optional field must be omitted`;
    case 'minLength':
    case 'minItems':
    case 'minProperties':
      if (params.limit === 1) return `${where} must not be empty (omit an empty optional field)`;
      return `${where} ${error.message ?? 'is invalid'}`;
    default:
      return `${where} ${error.message ?? 'is invalid'}`;
  }
}

function check(key: string, schema: JsonSchema, body: unknown): string[] {
  const validator = compile(key, schema);
  if (validator(body)) return [];
  const errors = validator.errors ?? [];
  // A value of the wrong type fails its other keywords too; report the type only.
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const messages = errors
    .filter((e) => e.keyword === 'type' || !wrongType.has(e.instancePath))
    .map((error) => describe(error, body));
  return [...new Set(messages)];
}

// ---------------------------------------------------------------------------------------------
// Public helpers.

/** Validates a value against one schema of `components.schemas`. */
export function validateSchema(name: string, value: unknown): string[] {
  if (!Object.hasOwn(openApiDocument.components.schemas, name)) {
    return [`no schema named ${name}`];
  }
  return check(`schema ${name}`, { $ref: `${SCHEMA_PREFIX}${name}` }, value);
}

const isEmptyBody = (body: unknown) => body === undefined || body === '';

function checkMedia(key: string, contentType: string, media: MediaType, body: unknown): string[] {
  if (contentType.startsWith('application/json')) return check(key, media.schema, body);
  if (typeof body !== 'string') return [`body must be text (${contentType}), got ${show(body)}`];
  return check(key, media.schema, body);
}

/** Error responses of routes the document does not have (unknown path or method). */
function unroutedResponse(method: string, path: string, status: number, body: unknown): string[] {
  const label = `${method.toUpperCase()} ${normalisePath(path)}`;
  if (method.toUpperCase() === 'OPTIONS' && (status === 200 || status === 204)) {
    return isEmptyBody(body) ? [] : [`${label} ${status}: a CORS preflight has an empty body`];
  }
  const code = status === 404 ? 'not_found' : status === 405 ? 'bad_request' : undefined;
  if (!code) {
    return [`${label}: no such operation in the document (status ${status} is not 404 or 405)`];
  }
  const schema: JsonSchema = {
    allOf: [
      { $ref: `${SCHEMA_PREFIX}Error` },
      { type: 'object', properties: { code: { const: code } } },
    ],
  };
  return check(`unrouted ${status}`, schema, body).map((error) => `${label} ${status}: ${error}`);
}

/**
 * Checks one response against the document: the operation serving `method path` (a concrete
 * path such as `/dag-runs/x/123/log`, relative to /api/v2 or starting with it) must document
 * `status`, and `body` (parsed JSON, the text of a text response, or undefined / "" for an empty
 * body) must match its schema. Returns human-readable errors; [] when everything matches.
 * Unknown routes may answer 404 not_found or 405 bad_request with the Error envelope.
 */
export function validateResponse(
  method: string,
  path: string,
  status: number,
  body: unknown,
): string[] {
  const matched = matchOperation(method, path);
  if (!matched) return unroutedResponse(method, path, status, body);
  const { template, operation } = matched;
  const label = `${operation.operationId} ${status}`;
  const declared = operation.responses[String(status)];
  if (!declared) {
    const documented = Object.keys(operation.responses).join(', ');
    return [`${label}: status ${status} is not documented (documented: ${documented})`];
  }
  const response = deref<Response>(declared);
  const entries = Object.entries(response.content ?? {});
  const first = entries[0];
  if (!first) {
    return isEmptyBody(body) ? [] : [`${label}: body must be empty, got ${show(body)}`];
  }
  const [contentType, media] = first;
  const key = `${matched.method} ${template} ${status}`;
  return checkMedia(key, contentType, media, body).map((error) => `${label}: ${error}`);
}
