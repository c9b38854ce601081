// @dagu-ts/testing: test support shared by the packages' tests, kept out of their shipped
// source (private, never published, never built; resolved from src/ through the
// "@dagu-ts/source" condition). It composes api, core and store, which the packages under test
// may not import themselves (ARCHITECTURE.md, "Packages and the direction of imports").
export { basicAuth, FIXTURES as API_FIXTURES, startApi } from './api/harness.js';
export type { CallOptions, CallResult, StartOptions, TestApi } from './api/harness.js';
export { FIXTURES as CLIENT_FIXTURES, signJwt, startTestServer } from './client/server.js';
export type { TestServer, TestServerOptions } from './client/server.js';
export {
  matchOperation,
  matchPath,
  resolvePointer,
  validateResponse,
  validateSchema,
} from './openapi/validate.js';
export {
  createTestDatabase,
  findPostgresBin,
  queryDatabase,
  startPostgres,
  type PostgresServer,
} from './postgres-server.js';
