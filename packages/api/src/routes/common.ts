// Shared route pieces.
import type { RequestHandler } from 'express';
import { ApiError } from '../errors.js';

/** A known path with a method it does not serve: 405, code bad_request (api-v2.md Part A #7). */
export const methodNotAllowed: RequestHandler = (req) => {
  throw new ApiError(405, 'bad_request', `method ${req.method} is not allowed on this path`);
};
