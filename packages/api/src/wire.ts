// The wire types of the API, by their names in the OpenAPI document: views of
// src/generated/api.ts (made from the document by scripts/generate-api-types.mjs, the same
// generator the client's types come from). Handlers and views are typed with these.
import type { components, operations } from './generated/api.js';

export type Schemas = components['schemas'];
export type OperationId = keyof operations;

/** Path parameters of an operation. */
export type PathOf<Op extends OperationId> = operations[Op]['parameters']['path'];
/** Query parameters of an operation, as the request validator decodes them. */
export type QueryOf<Op extends OperationId> = NonNullable<operations[Op]['parameters']['query']>;
/** JSON request body of an operation (`undefined` when it takes none). */
export type BodyOf<Op extends OperationId> =
  NonNullable<operations[Op]['requestBody']> extends { content: { 'application/json': infer B } }
    ? B
    : undefined;

type Responses<Op extends OperationId> = operations[Op]['responses'];
type ContentOf<R> = R extends { content: infer C }
  ? C extends Record<string, infer T>
    ? T
    : void
  : void;
/** The 2xx body of an operation, or void for an empty answer. */
export type ResultOf<Op extends OperationId> = ContentOf<
  Responses<Op>[Extract<keyof Responses<Op>, 200 | 201 | 204>]
>;

export type Status = Schemas['Status'];
export type NodeStatus = Schemas['NodeStatus'];
export type Condition = Schemas['Condition'];
export type Step = Schemas['Step'];
export type Node = Schemas['Node'];
export type DAG = Schemas['DAG'];
export type DAGDetails = Schemas['DAGDetails'];
export type LocalDag = Schemas['LocalDag'];
export type DAGGridItem = Schemas['DAGGridItem'];
export type DAGFile = Schemas['DAGFile'];
export type SearchResultItem = Schemas['SearchResultItem'];
export type StartDAGRequest = Schemas['StartDAGRequest'];
export type DAGRunSummary = Schemas['DAGRunSummary'];
export type DAGRunDetails = Schemas['DAGRunDetails'];
export type Log = Schemas['Log'];
