// What every route module gets: the dependencies, with their optional parts filled in, and the
// few lookups that many routes share (a DAG file by name, a run by id or `latest`).
import {
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
   * Every DAG file (optionally only those whose name passes `include`) with its listing view.
   * Parsed views are cached by file modification time and size, so a listing of thousands of
   * files parses only what changed since the last one.
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

  const cache = new Map<string, { stamp: string; entry: CatalogEntry }>();
  const catalog = async (include?: (fileName: string) => boolean): Promise<CatalogEntry[]> => {
    const files = await deps.dags.list();
    const present = new Set(files.map((file) => file.fileName));
    for (const name of cache.keys()) if (!present.has(name)) cache.delete(name);
    const entries: CatalogEntry[] = [];
    for (const file of files) {
      if (include && !include(file.fileName)) continue;
      const stamp = `${file.modifiedAt}|${file.size}|${file.path}`;
      const cached = cache.get(file.fileName);
      if (cached?.stamp === stamp) {
        entries.push(cached.entry);
        continue;
      }
      const entry: CatalogEntry = {
        fileName: file.fileName,
        path: file.path,
        metadata: undefined,
        error: undefined,
      };
      try {
        const text = await deps.dags.read(file.fileName);
        entry.metadata = parseDagMetadata(text, { location: file.path });
      } catch (error) {
        entry.error = error instanceof Error ? error.message : String(error);
      }
      cache.set(file.fileName, { stamp, entry });
      entries.push(entry);
    }
    return entries;
  };

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
    catalog,
    forget: (fileName) => cache.delete(fileName),
    async loadDag(fileName) {
      const { text, path } = await read(fileName);
      return { text, path, dag: parseDag(text, { location: path }) };
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
