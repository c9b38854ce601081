// What every route module gets: the dependencies, with their optional parts filled in, and the
// few lookups that many routes share (a DAG file by name, a run by id or `latest`).
import {
  DagCatalog,
  DagValidationError,
  parseDag,
  parseDagMetadata,
  type Dag,
  type DagMetadata,
  type RunStore,
  type StoredRun,
} from '@dagu-ts/core';
import type { ApiDeps } from './deps.js';
import { ApiError, notFound } from './errors.js';

/** The optional capabilities of the RunStore port that routes use when the store has them. */
export type RunStoreExtras = Pick<RunStore, 'listRunSummaries'>;

/** A DAG file with its listing view, or why it could not be read. */
export interface CatalogEntry {
  fileName: string;
  path: string;
  metadata: DagMetadata | undefined;
  error: string | undefined;
}

export interface ApiContext {
  deps: ApiDeps;
  runExtras: RunStoreExtras;
  /**
   * Every DAG file (optionally only those whose name passes `include`) with its listing view,
   * from core's DagCatalog: a listing of thousands of files parses only what changed since the
   * last one.
   */
  catalog(include?: (fileName: string) => boolean): Promise<CatalogEntry[]>;
  /** Drops a file's cached listing view (after the API wrote, renamed or deleted it). */
  forget(fileName: string): void;
  /** Reads and fully parses a DAG file; 404 when missing, the validation error when invalid. */
  loadDag(fileName: string): Promise<{ text: string; dag: Dag; path: string }>;
  /** Reads a DAG file's listing view; 404 when missing or not even YAML. */
  loadMetadata(fileName: string): Promise<DagMetadata>;
  /** A root run by id or `latest`; 404 when there is none. */
  getRun(name: string, dagRunId: string): Promise<StoredRun>;
  /** A child run of a root run; 404 when there is none. */
  getChildRun(name: string, dagRunId: string, childDagRunId: string): Promise<StoredRun>;
}

/** How many DAG files keep their last parse (small DAGs: a few KiB each). */
const PARSED_DAGS_KEPT = 64;

export function createContext(deps: ApiDeps): ApiContext {
  const runExtras: RunStoreExtras = deps.runs;

  const read = async (fileName: string): Promise<{ text: string; path: string }> => {
    const text = await deps.dags.read(fileName).catch((error: unknown) => {
      if ((error as { code?: unknown }).code === 'not_found')
        throw notFound(`DAG ${fileName} not found`);
      throw error;
    });
    return { text, path: deps.dags.pathOf(fileName) };
  };

  // The last parse of each recently started DAG file: a start reads the file every time (it may
  // have changed) but parses it again only when its text did. Callers own the Dag they get, so
  // each gets a copy (a clone costs a fraction of a parse).
  const parsed = new Map<string, { text: string; path: string; dag: Dag }>();
  const parseCached = (fileName: string, text: string, path: string): Dag => {
    const hit = parsed.get(fileName);
    if (hit && hit.text === text && hit.path === path) {
      parsed.delete(fileName); // most recently used last
      parsed.set(fileName, hit);
      return structuredClone(hit.dag);
    }
    const dag = parseDag(text, { location: path });
    parsed.delete(fileName);
    if (parsed.size >= PARSED_DAGS_KEPT) parsed.delete(parsed.keys().next().value!);
    parsed.set(fileName, { text, path, dag: structuredClone(dag) });
    return dag;
  };

  // One catalog per server (the scheduler's too, when the composition shares it).
  const shared = deps.catalog ?? new DagCatalog(deps.dags);

  const getRun = async (name: string, dagRunId: string): Promise<StoredRun> => {
    if (dagRunId === 'latest') {
      const latest = await deps.runs.getLatestRun(name);
      if (!latest) throw notFound(`no dag-runs found for DAG ${name}`);
      return latest;
    }
    const run = await deps.runs.getRun(name, dagRunId);
    if (!run) throw notFound(`dag-run ID ${dagRunId} not found for DAG ${name}`);
    return run;
  };

  return {
    deps,
    runExtras,
    catalog: (include) => shared.entries(include),
    forget: (fileName) => shared.forget(fileName),
    async loadDag(fileName) {
      const { text, path } = await read(fileName);
      return { text, path, dag: parseCached(fileName, text, path) };
    },
    async loadMetadata(fileName) {
      const { text, path } = await read(fileName);
      try {
        return parseDagMetadata(text, { location: path });
      } catch (error) {
        if (error instanceof DagValidationError)
          throw new ApiError(404, 'not_found', `DAG ${fileName} not found: ${error.message}`);
        throw error;
      }
    },
    getRun,
    async getChildRun(name, dagRunId, childDagRunId) {
      const root = await getRun(name, dagRunId);
      const child = await deps.runs.getChildRun(
        { name, dagRunId: root.snapshot.dagRunId },
        childDagRunId,
      );
      if (!child) throw notFound(`child dag-run ID ${childDagRunId} not found for DAG ${name}`);
      return child;
    },
  };
}
