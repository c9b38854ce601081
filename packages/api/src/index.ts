// @dagu-ts/api: the Express router of REST API v2 (Dagu-compatible), its auth, metrics and the
// error mapper.
export { createApiApp, createApiRouter, apiPrefix } from './app.js';
export type { ApiRouter } from './app.js';
export type { ApiDeps, AuthOptions, Role } from './deps.js';
export { ApiError, createErrorMapper, toApiError } from './errors.js';
export type { ApiErrorCode, ErrorMapperOptions } from './errors.js';
export { authenticate, authEnabled } from './auth.js';
export type { Action } from './auth.js';
export { BODY_LIMIT_BYTES } from './http.js';
export { createMetrics } from './metrics.js';
export type { ApiMetrics } from './metrics.js';
export { readLogWindow } from './log-window.js';
export type { LogWindow, LogWindowQuery } from './log-window.js';
export { openApiDocument } from './openapi/document.js';
// The wire format: how runs are presented (also by the CLI's `status --json`), and the types
// generated from the document.
export {
  formatRunTime,
  omitEmpty,
  toDagRunDetails,
  toDagRunSummary,
  toNodeDetails,
  toStepDetails,
} from './run-views.js';
export type {
  BodyOf,
  DAGRunDetails,
  DAGRunSummary,
  Node,
  OperationId,
  PathOf,
  QueryOf,
  ResultOf,
  Schemas,
  Step,
} from './wire.js';
export type { components, operations, paths } from './generated/api.js';
export type {
  HttpMethod,
  JsonSchema,
  MediaType,
  OpenApiDocument,
  Operation,
  Reference,
  Response as OpenApiResponse,
} from './openapi/document.js';
