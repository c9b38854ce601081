// Type-level tests: responses and arguments are typed from the generated OpenAPI types (no
// `any` anywhere). Checked by `tsc` (tsconfig.test.json and src/typecheck.test.ts); never run.
import { expectTypeOf } from 'vitest';
import {
  createClient,
  type DaguApiError,
  type DAGFile,
  type DAGRunDetails,
  type DAGRunSummary,
  type DaguClient,
  type DaguErrorCode,
  type NodeStatus,
  type OperationId,
  type Status,
  type components,
} from './index.js';

declare const client: DaguClient;

// Every operation of the document has its method.
expectTypeOf<Exclude<OperationId, keyof DaguClient>>().toEqualTypeOf<never>();
expectTypeOf(createClient).returns.toEqualTypeOf<DaguClient>();

// The status unions, straight from the document's enums.
expectTypeOf<Status>().toEqualTypeOf<0 | 1 | 2 | 3 | 4 | 5 | 6>();
expectTypeOf<NodeStatus>().toEqualTypeOf<0 | 1 | 2 | 3 | 4 | 5>();

// getDagRun: nodes[0].status is the node status union, statusLabel the label union.
type RunResult = Awaited<ReturnType<DaguClient['getDagRun']>>;
expectTypeOf<RunResult>().toEqualTypeOf<{ dagRunDetails: DAGRunDetails }>();
expectTypeOf<RunResult['dagRunDetails']['nodes'][0]['status']>().toEqualTypeOf<NodeStatus>();
expectTypeOf<RunResult['dagRunDetails']['nodes'][0]['status']>().not.toBeAny();
expectTypeOf<RunResult['dagRunDetails']['status']>().toEqualTypeOf<Status>();
expectTypeOf<RunResult['dagRunDetails']['statusLabel']>().toEqualTypeOf<
  'not started' | 'running' | 'failed' | 'canceled' | 'finished' | 'queued' | 'partial success'
>();
expectTypeOf<DAGRunDetails>().toEqualTypeOf<components['schemas']['DAGRunDetails']>();

// Other results.
expectTypeOf(client.health)
  .returns.resolves.toHaveProperty('status')
  .toEqualTypeOf<'healthy' | 'unhealthy'>();
expectTypeOf(client.metrics).returns.resolves.toEqualTypeOf<string>();
expectTypeOf(client.listDags).returns.resolves.toHaveProperty('dags').toEqualTypeOf<DAGFile[]>();
expectTypeOf(client.startDag).returns.resolves.toEqualTypeOf<{ dagRunId: string }>();
expectTypeOf(client.deleteDag).returns.resolves.toBeVoid();
expectTypeOf(client.stopDagRun).returns.resolves.toBeVoid();
expectTypeOf(client.getStepLog).returns.resolves.toHaveProperty('content').toBeString();
expectTypeOf(client.waitForDagRun).returns.resolves.toEqualTypeOf<DAGRunDetails>();
expectTypeOf(client.startAndWait).returns.resolves.toEqualTypeOf<DAGRunDetails>();
expectTypeOf(client.iterateDags).returns.toEqualTypeOf<AsyncGenerator<DAGFile, void, undefined>>();
expectTypeOf(client.iterateDagRuns).returns.toEqualTypeOf<
  AsyncGenerator<DAGRunSummary, void, undefined>
>();

// Arguments.
expectTypeOf(client.startDag)
  .parameter(1)
  .toEqualTypeOf<{ params?: string; dagRunId?: string; singleton?: boolean } | undefined>();
expectTypeOf(client.updateStepStatus).parameter(3).toEqualTypeOf<{ status: NodeStatus }>();
expectTypeOf(client.listDagRuns).parameter(0).exclude<undefined>().toHaveProperty('status');
expectTypeOf(client.getStepLog)
  .parameter(3)
  .exclude<undefined>()
  .toHaveProperty('stream')
  .toEqualTypeOf<'stdout' | 'stderr' | undefined>();

async function misuse(): Promise<void> {
  // @ts-expect-error status must be a NodeStatus
  await client.updateStepStatus('d', 'r', 's', { status: 9 });
  // @ts-expect-error searchDags needs q
  await client.searchDags({});
  // @ts-expect-error unknown query parameter
  await client.listDags({ pageSize: 3 });
  // @ts-expect-error a suspend body is required
  await client.suspendDag('d');
  const { dagRunDetails } = await client.getDagRun('d', 'latest');
  // @ts-expect-error not a status
  dagRunDetails.status = 7;
}
void misuse;

// Errors.
declare const error: DaguApiError;
expectTypeOf(error.status).toBeNumber();
expectTypeOf(error.code).toEqualTypeOf<DaguErrorCode>();
expectTypeOf<'not_found'>().toExtend<DaguErrorCode>();
expectTypeOf(error.details).toEqualTypeOf<Record<string, unknown> | undefined>();
