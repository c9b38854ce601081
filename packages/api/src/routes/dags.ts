// DAG definitions (api-v2.md §5.2): list, create, search, tags, details, delete, spec, start,
// enqueue, history, one run, suspend and rename — operations 3–16 of §4.
import {
  DagRunStatus,
  DagValidationError,
  formatIssues,
  parseDag,
  type Dag,
  type DagMetadata,
  type StoredRun,
  paramsText,
} from '@dagu-ts/core';
import type { Router } from 'express';
import { allow } from '../auth.js';
import type { ApiContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { jsonBody } from '../http.js';
import { canonicalFileName } from '../input.js';
import { toDagRunDetails, toDagRunSummary } from '../run-views.js';
import type { RequestValidator } from '../validate.js';
import { gridData, syntheticRun, toDagDetails, toDagSummary, toLocalDag } from '../views.js';
import type { DAGFile, SearchResultItem, StartDAGRequest } from '../wire.js';
import { methodNotAllowed } from './common.js';

const DEFAULT_PER_PAGE = 50;
const MAX_PER_PAGE = 200;
const HISTORY_LIMIT = 30;

/** The one-step template of POST /dags. */
export const NEW_DAG_TEMPLATE = `steps:
  - name: step1
    command: echo hello
`;

/** One message per problem, each naming its line (`3: steps[0]: …`). */
export function issueMessages(error: DagValidationError): string[] {
  return error.issues.map((issue) => formatIssues([issue]));
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function registerDagRoutes(
  router: Router,
  ctx: ApiContext,
  { handle }: RequestValidator,
): void {
  const { deps } = ctx;
  const read = allow('read', deps.permissions);
  const run = allow('run', deps.permissions);
  const write = allow('write', deps.permissions);

  /** Every DAG file with its listing view, or the error that kept it from being read. */
  const readAll = async (
    nameFilter?: string,
  ): Promise<{ items: Array<{ fileName: string; metadata: DagMetadata }>; errors: string[] }> => {
    const needle = nameFilter?.toLowerCase();
    const entries = await ctx.catalog(
      needle === undefined ? undefined : (fileName) => fileName.toLowerCase().includes(needle),
    );
    const items: Array<{ fileName: string; metadata: DagMetadata }> = [];
    const errors: string[] = [];
    for (const entry of entries) {
      if (entry.metadata) items.push({ fileName: entry.fileName, metadata: entry.metadata });
      else errors.push(`reading ${entry.fileName} failed: ${entry.error ?? 'unknown error'}`);
    }
    return { items, errors };
  };

  /** The latest run of a DAG name as stored, or undefined. */
  const latestRun = (name: string): Promise<StoredRun | undefined> => deps.runs.getLatestRun(name);

  // 3. GET /dags
  router
    .route('/dags')
    .get(
      read,
      handle('listDags', async ({ query }, _req, res) => {
        const page = Math.max(1, query.page ?? 1);
        const perPageParam = query.perPage ?? DEFAULT_PER_PAGE;
        const perPage = perPageParam < 1 ? DEFAULT_PER_PAGE : Math.min(perPageParam, MAX_PER_PAGE);
        const tag = query.tag?.toLowerCase();
        const { items, errors } = await readAll(query.name);
        const matching =
          tag === undefined
            ? items
            : items.filter((item) => item.metadata.tags.some((t) => t.toLowerCase() === tag));
        const total = matching.length;
        const totalPages = Math.trunc((total - 1) / perPage) + 1;
        const suspended = new Set(await deps.flags.listSuspended());
        const dags = await Promise.all(
          matching
            .slice((page - 1) * perPage, page * perPage)
            .map(async (item): Promise<DAGFile> => {
              const latest = await latestRun(item.metadata.name);
              const snapshot = latest?.snapshot ?? syntheticRun(item.metadata);
              return {
                fileName: item.fileName,
                dag: toDagSummary(item.metadata),
                latestDAGRun: toDagRunSummary(snapshot),
                suspended: suspended.has(item.fileName),
                errors: [],
              };
            }),
        );
        res.json({
          dags,
          errors,
          pagination: {
            totalRecords: total,
            currentPage: page,
            totalPages,
            nextPage: Math.min(page + 1, totalPages),
            prevPage: Math.max(page - 1, 1),
          },
        });
      }),
    )
    // 4. POST /dags
    .post(
      write,
      jsonBody,
      handle('createDag', async ({ body }, _req, res) => {
        const { name, spec } = body;
        const fileName = canonicalFileName(name, 'name');
        if (spec !== undefined) {
          try {
            parseDag(spec, { location: deps.dags.pathOf(fileName) });
          } catch (error) {
            if (error instanceof DagValidationError)
              throw badRequest(`invalid DAG spec: ${error.message}`, {
                errors: issueMessages(error),
              });
            throw error;
          }
        }
        await deps.dags.create(fileName, spec ?? NEW_DAG_TEMPLATE);
        ctx.forget(fileName);
        res.status(201).json({ name });
      }),
    )
    .all(methodNotAllowed);

  // 5. GET /dags/search
  router
    .route('/dags/search')
    .get(
      read,
      handle('searchDags', async ({ query }, _req, res) => {
        const found = await deps.dags.search(query.q);
        const matched = new Set(found.map((match) => match.fileName));
        const views = new Map(
          (await ctx.catalog((fileName) => matched.has(fileName))).map((e) => [e.fileName, e]),
        );
        const results: SearchResultItem[] = [];
        const errors: string[] = [];
        for (const match of found) {
          const view = views.get(match.fileName);
          if (!view?.metadata) {
            errors.push(`check ${match.fileName} failed: ${view?.error ?? 'the file is gone'}`);
            continue;
          }
          results.push({
            name: match.fileName,
            dag: toDagSummary(view.metadata),
            matches: match.matches.map((m) => ({
              line: m.snippet,
              lineNumber: m.line,
              startLine: m.startLine,
            })),
          });
        }
        res.json({ results, errors });
      }),
    )
    .all(methodNotAllowed);

  // 6. GET /dags/tags
  router
    .route('/dags/tags')
    .get(
      read,
      handle('listTags', async (_input, _req, res) => {
        const { items, errors } = await readAll();
        const tags = new Set(items.flatMap((item) => item.metadata.tags));
        res.json({ tags: [...tags].sort(compareNames), errors });
      }),
    )
    .all(methodNotAllowed);

  // 7. GET /dags/{fileName}, 8. DELETE /dags/{fileName}
  router
    .route('/dags/:fileName')
    .get(
      read,
      handle('getDag', async ({ path }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        let dag: Dag;
        let errors: string[] = [];
        try {
          dag = (await ctx.loadDag(fileName)).dag;
        } catch (error) {
          if (!(error instanceof DagValidationError)) throw error;
          // Build errors are tolerated: the listing view and the problems.
          const metadata = await ctx.loadMetadata(fileName);
          errors = issueMessages(error);
          const latest = await latestRun(metadata.name);
          res.json({
            dag: toDagSummary(metadata),
            localDags: [],
            latestDAGRun: toDagRunDetails(latest?.snapshot ?? syntheticRun(metadata)),
            suspended: await deps.flags.isSuspended(fileName),
            errors,
          });
          return;
        }
        const latest = await latestRun(dag.name);
        res.json({
          dag: toDagDetails(dag),
          localDags: [...dag.localDags]
            .sort((a, b) => compareNames(a.name, b.name))
            .map(toLocalDag),
          latestDAGRun: toDagRunDetails(latest?.snapshot ?? syntheticRun(dag)),
          suspended: await deps.flags.isSuspended(fileName),
          errors,
        });
      }),
    )
    .delete(
      write,
      handle('deleteDag', async ({ path }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        await deps.dags.delete(fileName).catch(notFoundAs(fileName));
        ctx.forget(fileName);
        res.status(204).end();
      }),
    )
    .all(methodNotAllowed);

  // 9. GET /dags/{fileName}/spec, 10. PUT /dags/{fileName}/spec
  router
    .route('/dags/:fileName/spec')
    .get(
      read,
      handle('getDagSpec', async ({ path }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        const text = await deps.dags.read(fileName).catch(notFoundAs(fileName));
        try {
          const dag = parseDag(text, { location: deps.dags.pathOf(fileName) });
          res.json({ spec: text, errors: [], dag: toDagDetails(dag) });
        } catch (error) {
          if (!(error instanceof DagValidationError)) throw error;
          res.json({ spec: text, errors: issueMessages(error) });
        }
      }),
    )
    .put(
      write,
      jsonBody,
      handle('updateDagSpec', async ({ path, body: { spec } }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        await deps.dags.read(fileName).catch(notFoundAs(fileName));
        try {
          parseDag(spec, { location: deps.dags.pathOf(fileName) });
        } catch (error) {
          if (!(error instanceof DagValidationError)) throw error;
          res.json({ errors: issueMessages(error) });
          return;
        }
        await deps.dags.update(fileName, spec).catch(notFoundAs(fileName));
        ctx.forget(fileName);
        res.json({ errors: [] });
      }),
    )
    .all(methodNotAllowed);

  /** Start and enqueue share their body: params, dagRunId, singleton. */
  const launchInput = (body: StartDAGRequest) => {
    const params = paramsText(body.params);
    return {
      ...(body.dagRunId ? { dagRunId: body.dagRunId } : {}),
      // The caller's params are data: never run, never expanded, never shell syntax.
      ...(params !== undefined ? { params: { text: params, source: 'remote' as const } } : {}),
      trigger: 'api' as const,
      singleton: body.singleton ?? false,
    };
  };

  const activeRuns = async (dag: Dag, statuses: DagRunStatus[]): Promise<number> =>
    (await deps.runs.listRuns({ name: dag.name, statuses, limit: 0 })).total;

  // 11. POST /dags/{fileName}/start
  router
    .route('/dags/:fileName/start')
    .post(
      run,
      jsonBody,
      handle('startDag', async ({ path, body }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        const { singleton, ...options } = launchInput(body);
        const { dag } = await ctx.loadDag(fileName);
        if (singleton && (await activeRuns(dag, [DagRunStatus.Running])) > 0)
          throw new ApiError(409, 'already_running', `DAG ${dag.name} is already running`);
        const { dagRunId } = await deps.launcher.start(dag, options);
        res.json({ dagRunId });
      }),
    )
    .all(methodNotAllowed);

  // 12. POST /dags/{fileName}/enqueue
  router
    .route('/dags/:fileName/enqueue')
    .post(
      run,
      jsonBody,
      handle('enqueueDag', async ({ path, body }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        const { singleton, ...options } = launchInput(body);
        const { dag } = await ctx.loadDag(fileName);
        if (singleton && (await activeRuns(dag, [DagRunStatus.Running, DagRunStatus.Queued])) > 0)
          throw new ApiError(
            409,
            'already_running',
            `DAG ${dag.name} is already running or queued`,
          );
        const { dagRunId } = await deps.launcher.enqueue(dag, options);
        res.json({ dagRunId });
      }),
    )
    .all(methodNotAllowed);

  // 13. GET /dags/{fileName}/dag-runs
  router
    .route('/dags/:fileName/dag-runs')
    .get(
      read,
      handle('getDagHistory', async ({ path }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        const metadata = await ctx.loadMetadata(fileName);
        const { runs } = await deps.runs.listRuns({ name: metadata.name, limit: HISTORY_LIMIT });
        res.json({ dagRuns: runs.map(toDagRunDetails), gridData: gridData(runs) });
      }),
    )
    .all(methodNotAllowed);

  // 14. GET /dags/{fileName}/dag-runs/{dagRunId}
  router
    .route('/dags/:fileName/dag-runs/:dagRunId')
    .get(
      read,
      handle('getDagRunOfDag', async ({ path }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        const { dagRunId } = path;
        if (dagRunId === 'latest') {
          const metadata = await ctx.loadMetadata(fileName);
          const latest = await latestRun(metadata.name);
          if (latest) {
            res.json({ dagRun: toDagRunDetails(latest.snapshot) });
            return;
          }
          const dag = await ctx.loadDag(fileName).then(
            (loaded) => loaded.dag,
            () => metadata,
          );
          res.json({ dagRun: toDagRunDetails(syntheticRun(dag)) });
          return;
        }
        const metadata = await ctx.loadMetadata(fileName);
        const stored = await ctx.getRun(metadata.name, dagRunId);
        res.json({ dagRun: toDagRunDetails(stored.snapshot) });
      }),
    )
    .all(methodNotAllowed);

  // 15. POST /dags/{fileName}/suspend (a run permission, as in Dagu)
  router
    .route('/dags/:fileName/suspend')
    .post(
      run,
      jsonBody,
      handle('suspendDag', async ({ path, body: { suspend } }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        await deps.dags.read(fileName).catch(notFoundAs(fileName));
        await deps.flags.setSuspended(fileName, suspend);
        res.status(200).end();
      }),
    )
    .all(methodNotAllowed);

  // 16. POST /dags/{fileName}/rename
  router
    .route('/dags/:fileName/rename')
    .post(
      write,
      jsonBody,
      handle('renameDag', async ({ path, body }, _req, res) => {
        const fileName = canonicalFileName(path.fileName);
        const newFileName = canonicalFileName(body.newFileName, 'newFileName');
        const metadata = await ctx.loadMetadata(fileName);
        const latest = await latestRun(metadata.name);
        if (latest?.snapshot.status === DagRunStatus.Running)
          throw new ApiError(400, 'not_running', 'DAG is running');
        await deps.dags.rename(fileName, newFileName);
        ctx.forget(fileName);
        ctx.forget(newFileName);
        // A DAG named after its file gets a new name: its history moves with it.
        const renamed = (await ctx.loadMetadata(newFileName)).name;
        if (renamed !== metadata.name) {
          try {
            await deps.runs.renameRuns(metadata.name, renamed);
          } catch (error) {
            await deps.dags.rename(newFileName, fileName);
            ctx.forget(newFileName);
            throw error;
          }
        }
        // Suspension follows the file.
        if (await deps.flags.isSuspended(fileName)) {
          await deps.flags.setSuspended(newFileName, true);
          await deps.flags.setSuspended(fileName, false);
        }
        res.status(200).end();
      }),
    )
    .all(methodNotAllowed);
}

/** A DaguError not_found from the repository → 404 with Dagu's message. */
function notFoundAs(fileName: string) {
  return (error: unknown): never => {
    if ((error as { code?: unknown }).code === 'not_found')
      throw new ApiError(404, 'not_found', `DAG ${fileName} not found`);
    throw error;
  };
}
