// Type-level tests (checked by `pnpm typecheck`): the server's views and handlers are typed with
// the types generated from the OpenAPI document, so a view that drifts from the document does
// not compile.
import type { DagRunSnapshot } from '@dagu-ts/core';
import { expectTypeOf } from 'vitest';
import type { components } from './generated/api.js';
import { toDagRunDetails, toDagRunSummary, toNodeDetails, toStepDetails } from './run-views.js';
import type { OperationHandler } from './validate.js';
import { gridData, toDagDetails, toDagSummary, toLocalDag } from './views.js';
import type { QueryOf } from './wire.js';

type Schemas = components['schemas'];

expectTypeOf(toDagRunDetails).returns.toEqualTypeOf<Schemas['DAGRunDetails']>();
expectTypeOf(toDagRunSummary).returns.toEqualTypeOf<Schemas['DAGRunSummary']>();
expectTypeOf(toNodeDetails).returns.toEqualTypeOf<Schemas['Node']>();
expectTypeOf(toStepDetails).returns.toEqualTypeOf<Schemas['Step']>();
expectTypeOf(toDagSummary).returns.toEqualTypeOf<Schemas['DAG']>();
expectTypeOf(toDagDetails).returns.toEqualTypeOf<Schemas['DAGDetails']>();
expectTypeOf(toLocalDag).returns.toEqualTypeOf<Schemas['LocalDag']>();
expectTypeOf(gridData).returns.toEqualTypeOf<Schemas['DAGGridItem'][]>();

// A handler's `res.json` takes its operation's success body, and nothing else.
type ResOf<H> = H extends (input: never, req: never, res: infer R) => unknown ? R : never;
type GetDagRunRes = ResOf<OperationHandler<'getDagRun'>>;
expectTypeOf<Parameters<GetDagRunRes['json']>[0]>().toEqualTypeOf<
  Schemas['DAGRunDetailsResponse'] | undefined
>();
type ListRunsRes = ResOf<OperationHandler<'listDagRuns'>>;
expectTypeOf<Parameters<ListRunsRes['json']>[0]>().toEqualTypeOf<
  Schemas['ListDAGRunsResponse'] | undefined
>();

declare const snapshot: DagRunSnapshot;
export const handler: OperationHandler<'getDagRun'> = (input, _req, res) => {
  expectTypeOf(input.path.dagRunId).toBeString();
  res.json({ dagRunDetails: toDagRunDetails(snapshot) });
  // @ts-expect-error a summary is not a DAGRunDetails (no nodes, no preconditions)
  res.json({ dagRunDetails: toDagRunSummary(snapshot) });
};

// Query parameters arrive decoded to their schema types.
expectTypeOf<QueryOf<'listDagRuns'>['limit']>().toEqualTypeOf<number | undefined>();
expectTypeOf<QueryOf<'getStepLog'>['stream']>().toEqualTypeOf<'stdout' | 'stderr' | undefined>();
