// Readable names for the generated wire types, and helpers that read an operation's query,
// request body and success result out of them. Nothing here is written twice: every type is a
// view of src/generated/api.ts.
import type { components, operations } from './generated/api.js';

/** Every schema of the OpenAPI document, by name (`Schemas['DAGRunDetails']`, …). */
export type Schemas = components['schemas'];
/** The operationIds of the document; the client has one method per id. */
export type OperationId = keyof operations;

/** Query parameters of an operation (all optional unless the document says otherwise). */
export type QueryOf<Op extends OperationId> = NonNullable<operations[Op]['parameters']['query']>;
/** Path parameters of an operation. */
export type PathOf<Op extends OperationId> = operations[Op]['parameters']['path'];
/** JSON request body of an operation (`never` when it takes none). */
export type BodyOf<Op extends OperationId> =
  NonNullable<operations[Op]['requestBody']> extends { content: { 'application/json': infer B } }
    ? B
    : never;

type Responses<Op extends OperationId> = operations[Op]['responses'];
type SuccessStatus = 200 | 201 | 202 | 204;
type ContentOf<R> = R extends { content: infer C }
  ? C extends Record<string, infer T>
    ? T
    : void
  : void;
/** What an operation resolves with: its 2xx body, or void for an empty answer. */
export type ResultOf<Op extends OperationId> = ContentOf<
  Responses<Op>[Extract<keyof Responses<Op>, SuccessStatus>]
>;

// The schemas callers meet most, by their document names.
export type Status = Schemas['Status'];
export type StatusLabel = Schemas['StatusLabel'];
export type NodeStatus = Schemas['NodeStatus'];
export type NodeStatusLabel = Schemas['NodeStatusLabel'];
export type ErrorCode = Schemas['ErrorCode'];
export type ErrorEnvelope = Schemas['Error'];
export type Pagination = Schemas['Pagination'];
export type DAG = Schemas['DAG'];
export type DAGDetails = Schemas['DAGDetails'];
export type DAGFile = Schemas['DAGFile'];
export type DAGRunSummary = Schemas['DAGRunSummary'];
export type DAGRunDetails = Schemas['DAGRunDetails'];
export type Node = Schemas['Node'];
export type Step = Schemas['Step'];
export type Log = Schemas['Log'];
export type HealthResponse = Schemas['HealthResponse'];
export type ListDAGsResponse = Schemas['ListDAGsResponse'];
export type ListDAGRunsResponse = Schemas['ListDAGRunsResponse'];
export type StartDAGRequest = Schemas['StartDAGRequest'];
export type RetryDAGRunRequest = Schemas['RetryDAGRunRequest'];
// Dagu v1.30's additions.
export type ValidateDAGSpecResponse = Schemas['ValidateDAGSpecResponse'];
export type DAGRunOutputs = Schemas['DAGRunOutputs'];
export type Queue = Schemas['Queue'];
export type QueuesResponse = Schemas['QueuesResponse'];
export type WebhookDetails = Schemas['WebhookDetails'];

/** Run statuses after which a DAG run never changes again: failed, canceled, finished, partial. */
export const TERMINAL_STATUSES: readonly Status[] = [2, 3, 4, 6];

/** Whether a run status is final (2 failed, 3 canceled, 4 finished, 6 partial success). */
export function isTerminalStatus(status: Status): boolean {
  return TERMINAL_STATUSES.includes(status);
}
