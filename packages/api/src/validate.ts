// Request validation compiled from the OpenAPI document: path parameters, query parameters and
// JSON bodies of every operation are checked by Ajv against the document's schemas, compiled once
// when the router is created. The rules (the run-id pattern, the 1–10000 log limit, the safe
// file names, …) are written only in the document; this module turns a refusal into the
// bad_request message the API has always sent (api-v2.md Part A #3, #4, #7), in one place.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { Request, RequestHandler, Response } from 'express';
import { badRequest } from './errors.js';
import type {
  JsonSchema,
  OpenApiDocument,
  Operation,
  Parameter,
  Reference,
  RequestBody,
} from './openapi/document.js';
import type { BodyOf, OperationId, PathOf, QueryOf, ResultOf } from './wire.js';

/** What a handler receives: the request's parameters and body, checked against the document. */
export interface ValidInput<Op extends OperationId> {
  path: PathOf<Op>;
  query: QueryOf<Op>;
  body: BodyOf<Op>;
}

/** A handler of one operation; `res.json` takes that operation's success body. */
export type OperationHandler<Op extends OperationId> = (
  input: ValidInput<Op>,
  req: Request,
  res: Response<ResultOf<Op>>,
) => Promise<void> | void;

export interface RequestValidator {
  /** The handler of `operationId`, behind the validation of its request. */
  handle<Op extends OperationId>(operationId: Op, handler: OperationHandler<Op>): RequestHandler;
}

type Where = 'path' | 'query' | 'body';

interface CompiledParameters {
  validate: ValidateFunction;
  /** Parameters by name: how messages name them and how query strings are decoded. */
  byName: Map<string, Parameter>;
}

interface CompiledOperation {
  path?: CompiledParameters;
  query?: CompiledParameters;
  body?: { validate: ValidateFunction; required: boolean };
}

function isReference(value: object): value is Reference {
  return '$ref' in value;
}

function componentName(ref: string, kind: string): string {
  const prefix = `#/components/${kind}/`;
  if (!ref.startsWith(prefix)) throw new Error(`unsupported $ref ${ref}`);
  return ref.slice(prefix.length);
}

/** A parameter's schema with a top-level $ref resolved (to read its `type`). */
function resolvedSchema(document: OpenApiDocument, schema: JsonSchema): JsonSchema {
  return schema.$ref ? document.components.schemas[componentName(schema.$ref, 'schemas')]! : schema;
}

/** Every operation's request rules, each compiled by Ajv on the operation's first request. */
export function createRequestValidator(document: OpenApiDocument): RequestValidator {
  const ajv = new Ajv2020({
    allErrors: false,
    verbose: true, // errors carry the failing schema and value: the messages need both
    validateFormats: false, // int32/int64 are size hints, not checks
    keywords: ['x-enum-varnames', 'x-enum-descriptions', 'x-error-message'],
  });
  /**
   * A schema with the document's schema refs replaced by the schemas (requests use a few small
   * ones, e.g. NodeStatus), so each compiled validator stands alone.
   */
  const inlined = (schema: JsonSchema): JsonSchema =>
    JSON.parse(JSON.stringify(schema), (_key, value: unknown) =>
      value && typeof value === 'object' && '$ref' in value && typeof value.$ref === 'string'
        ? inlined(resolvedSchema(document, value as JsonSchema))
        : value,
    ) as JsonSchema;
  // Operations share most of their parameter and body schemas: compile each one once.
  const compiledBySource = new Map<string, ValidateFunction>();
  const compile = (schema: object): ValidateFunction => {
    const source = JSON.stringify(schema);
    let validate = compiledBySource.get(source);
    if (!validate) {
      validate = ajv.compile(schema);
      compiledBySource.set(source, validate);
    }
    return validate;
  };

  const parameterOf = (entry: Parameter | Reference): Parameter =>
    isReference(entry)
      ? document.components.parameters[componentName(entry.$ref, 'parameters')]!
      : entry;

  const compileParameters = (
    parameters: readonly Parameter[],
    where: 'path' | 'query',
  ): CompiledParameters | undefined => {
    const own = parameters.filter((p) => p.in === where);
    if (own.length === 0) return undefined;
    const schema = {
      type: 'object',
      properties: Object.fromEntries(own.map((p) => [p.name, inlined(p.schema)])),
      required: own.filter((p) => p.required).map((p) => p.name),
    };
    return { validate: compile(schema), byName: new Map(own.map((p) => [p.name, p])) };
  };

  const compileOperation = (operation: Operation, shared: readonly Parameter[]) => {
    const parameters = [...shared, ...(operation.parameters ?? []).map(parameterOf)];
    const compiled: CompiledOperation = {};
    const path = compileParameters(parameters, 'path');
    const query = compileParameters(parameters, 'query');
    if (path) compiled.path = path;
    if (query) compiled.query = query;
    if (operation.requestBody) {
      const body: RequestBody = isReference(operation.requestBody)
        ? document.components.requestBodies[
            componentName(operation.requestBody.$ref, 'requestBodies')
          ]!
        : operation.requestBody;
      const schema = body.content['application/json']?.schema;
      if (schema)
        compiled.body = {
          validate: compile(inlined(schema)),
          required: body.required === true,
        };
    }
    return compiled;
  };

  // Each operation is compiled on its first request: compiling all of them costs an idle server
  // ~11 MB and ~0.5 s of start-up, and most servers only ever see a few operations.
  const operations = new Map<string, () => CompiledOperation>();
  for (const item of Object.values(document.paths)) {
    const shared = (item.parameters ?? []).map(parameterOf);
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      let compiled: CompiledOperation | undefined;
      operations.set(
        operation.operationId,
        () => (compiled ??= compileOperation(operation, shared)),
      );
    }
  }

  const check = (where: Where, compiled: CompiledParameters | undefined, value: object) => {
    if (compiled && !compiled.validate(value))
      throw badRequest(messageOf(where, compiled.validate.errors?.[0], compiled.byName));
  };

  return {
    handle(operationId, handler) {
      const compiledOperation = operations.get(operationId);
      if (!compiledOperation)
        throw new Error(`operation ${operationId} is not in the OpenAPI document`);
      return async (req, res) => {
        const compiled = compiledOperation();
        const path = { ...(req.params as Record<string, string>) };
        check('path', compiled.path, path);
        const query = decodeQuery(req, compiled.query, document);
        check('query', compiled.query, query);
        let body: unknown;
        if (compiled.body) {
          body = bodyOf(req, compiled.body.required);
          if (!compiled.body.validate(body))
            throw badRequest(messageOf('body', compiled.body.validate.errors?.[0], new Map()));
        }
        const input = { path, query, body } as ValidInput<typeof operationId>;
        await handler(input, req, res);
      };
    },
  };
}

/**
 * The declared query parameters as values of their schema type. A parameter given twice, or an
 * integer that is not plain decimal digits, is refused here (Ajv's type coercion would take
 * `1e3` and `0x10`); an empty value means absent.
 */
function decodeQuery(
  req: Request,
  compiled: CompiledParameters | undefined,
  document: OpenApiDocument,
): Record<string, string | number> {
  const decoded: Record<string, string | number> = {};
  if (!compiled) return decoded;
  const raw = req.query as Record<string, unknown>;
  for (const [name, parameter] of compiled.byName) {
    const value = raw[name];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw badRequest(`query parameter ${name} must be given once`);
    if (value === '') continue;
    if (resolvedSchema(document, parameter.schema).type !== 'integer') {
      decoded[name] = value;
      continue;
    }
    if (!/^-?\d{1,16}$/.test(value))
      throw badRequest(`query parameter ${name} must be an integer, got ${JSON.stringify(value)}`);
    const number = Number(value);
    if (!Number.isSafeInteger(number))
      throw badRequest(`query parameter ${name} is out of range: ${value}`);
    decoded[name] = number;
  }
  return decoded;
}

/** The JSON body as an object: `{}` when absent and optional; a null field means absent. */
function bodyOf(req: Request, required: boolean): unknown {
  const body: unknown = req.body;
  if (body === undefined || body === null) {
    if (required) throw badRequest('a JSON object body is required');
    return {};
  }
  if (typeof body !== 'object' || Array.isArray(body)) return body; // refused by the schema
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== null));
}

const ARTICLES: Record<string, string> = {
  integer: 'an integer',
  object: 'a JSON object',
  array: 'an array',
};

/** "stdout or stderr", "a, b or c". */
function alternatives(values: readonly unknown[]): string {
  const words = values.map(String);
  return words.length < 2
    ? (words[0] ?? '')
    : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** The message of the first error Ajv reports, worded as the API words bad input. */
export function messageOf(
  where: Where,
  error: ErrorObject | undefined,
  parameters: ReadonlyMap<string, Parameter>,
): string {
  if (!error) return 'the request does not match the API description';
  const name =
    error.keyword === 'required'
      ? (error.params as { missingProperty: string }).missingProperty
      : error.instancePath.split('/')[1]?.replaceAll('~1', '/').replaceAll('~0', '~');
  if (name === undefined) return 'the request body must be a JSON object';
  const subject =
    where === 'body'
      ? `field ${name}`
      : `${where === 'query' ? 'query' : 'path'} parameter ${name}`;
  // How a rule explains itself to a person: `invalid dagRunId "x": use letters, …`.
  const label = parameters.get(name)?.['x-error-name'] ?? name;
  const value: unknown = error.data;
  const schema = (error.parentSchema ?? {}) as JsonSchema;
  switch (error.keyword) {
    case 'required':
      return `${subject} is required`;
    case 'type': {
      const type = String((error.params as { type: string }).type);
      return `${subject} must be ${ARTICLES[type] ?? `a ${type}`}`;
    }
    case 'minimum':
      return `${subject} must be at least ${String(schema.minimum)}, got ${String(value)}`;
    case 'maximum':
      return `${subject} must be at most ${String(schema.maximum)}, got ${String(value)}`;
    case 'enum': {
      const allowed = (error.params as { allowedValues: readonly unknown[] }).allowedValues;
      const numbers = allowed.every((v) => typeof v === 'number')
        ? [...(allowed as number[])].sort((a, b) => a - b)
        : undefined;
      // A run of integers (a status) reads as a range; words as alternatives.
      if (numbers && numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1))
        return `${subject} must be between ${numbers[0]} and ${numbers[numbers.length - 1]}, got ${JSON.stringify(value)}`;
      return `${subject} must be ${alternatives(allowed)}, got ${JSON.stringify(value)}`;
    }
    case 'minLength':
      if (schema.minLength === 1) return `${label} is empty`;
      break;
    case 'pattern':
    case 'maxLength':
      if (schema['x-error-message'])
        return `invalid ${label} ${JSON.stringify(value)}: ${schema['x-error-message']}`;
      break;
  }
  return `${subject} ${error.message ?? 'is invalid'}`;
}
