// @dagu-ts/client: a typed SDK for the dagu-ts / Dagu REST API v2 with zero runtime
// dependencies (global fetch; Node 20+ and browsers).
export { DaguClient, createClient, RUN_LIST_LIMIT } from './client.js';
export type { DaguClientOptions, IterateDagsQuery, WaitOptions } from './client.js';
export type { DaguAuth, FetchFunction, RequestOptions } from './transport.js';
export { DaguError, DaguApiError, DaguNetworkError, DaguTimeoutError } from './errors.js';
export type { DaguErrorCode } from './errors.js';
export { TERMINAL_STATUSES, isTerminalStatus } from './types.js';
export type * from './types.js';
// The raw generated types, for anything the names above do not cover.
export type { components, operations, paths } from './generated/api.js';
