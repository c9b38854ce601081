// Every DAG file of a repository, parsed once and kept by file: the scheduler (which needs the
// whole DAG of scheduled files) and the API's listings (which need the listing view) share one
// catalog, so a server parses each file once at start-up and then only the files that changed.
// Files are listed, read and watched only through the DagRepository port.
import type { DagFileInfo, DagRepository } from '../ports.js';
import { MAX_DAG_FILE_BYTES, parseDagFile } from './loader.js';
import type { Dag, DagMetadata } from './model.js';

/** A DAG file with its listing view and whole DAG, or why they could not be had. */
export interface DagCatalogEntry extends DagFileInfo {
  /** The listing view; undefined when the file cannot be read or is not a DAG (see `error`). */
  metadata: DagMetadata | undefined;
  /** Why there is no listing view. */
  error: string | undefined;
  /** The whole DAG; undefined when it does not load (see `dagError`, or `error`). */
  dag: Dag | undefined;
  /** Why the whole DAG does not load although its listing view does. */
  dagError: string | undefined;
}

/** Files read and parsed between two yields to the event loop while the catalog fills. */
const FILL_BATCH = 50;

export class DagCatalog {
  // Each file's entry is a promise, so a listing that arrives while another one is still parsing
  // waits for that parse instead of doing it again. The stamp says which version was parsed.
  private readonly cache = new Map<string, { stamp: string; entry: Promise<DagCatalogEntry> }>();

  constructor(readonly dags: DagRepository) {}

  /**
   * Every DAG file in file-name order (optionally only those whose name passes `include`): the
   * directory is listed each time, and only files new or changed since the last call (by path,
   * modification time and size) are read and parsed again.
   */
  async entries(include?: (fileName: string) => boolean): Promise<DagCatalogEntry[]> {
    const files = await this.dags.list();
    const present = new Set(files.map((file) => file.fileName));
    for (const name of this.cache.keys()) if (!present.has(name)) this.cache.delete(name);
    const entries: Array<Promise<DagCatalogEntry>> = [];
    const stale: Array<{ file: DagFileInfo; done: (entry: DagCatalogEntry) => void }> = [];
    for (const file of files) {
      if (include && !include(file.fileName)) continue;
      const stamp = `${file.modifiedAt}|${file.size}|${file.path}`;
      let cached = this.cache.get(file.fileName);
      if (cached?.stamp !== stamp) {
        let done!: (entry: DagCatalogEntry) => void;
        cached = { stamp, entry: new Promise((resolve) => (done = resolve)) };
        this.cache.set(file.fileName, cached);
        stale.push({ file, done });
      }
      entries.push(cached.entry);
    }
    // Parsing is CPU work: a batch at a time, so requests are served while thousands fill.
    for (let start = 0; start < stale.length; start += FILL_BATCH) {
      if (start > 0) await new Promise((resolve) => setImmediate(resolve));
      for (const { file, done } of stale.slice(start, start + FILL_BATCH))
        done(await this.load(file));
    }
    return Promise.all(entries);
  }

  /** Drops a file's entry (after a write, rename or delete), so the next call reads it again. */
  forget(fileName: string): void {
    this.cache.delete(fileName);
  }

  private async load(file: DagFileInfo): Promise<DagCatalogEntry> {
    const entry: DagCatalogEntry = {
      ...file,
      metadata: undefined,
      error: undefined,
      dag: undefined,
      dagError: undefined,
    };
    try {
      if (file.size > MAX_DAG_FILE_BYTES)
        throw new Error(
          `file is too large (${file.size} bytes; the limit is ${MAX_DAG_FILE_BYTES})`,
        );
      const parsed = parseDagFile(await this.dags.read(file.fileName), { location: file.path });
      entry.metadata = parsed.metadata;
      entry.dag = parsed.dag;
      entry.dagError = parsed.error?.message;
    } catch (error) {
      entry.error = error instanceof Error ? error.message : String(error);
    }
    return entry;
  }
}
