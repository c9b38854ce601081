// The DAGs directory: flat, top-level `*.yaml`/`*.yml` files. Every name is confined to the
// directory; writes are atomic (a temporary file in the same directory, then a rename or a
// hard link, so a reader never sees half a file and a create never overwrites). A symbolic link
// whose target resolves outside the directory is not a DAG: listings skip it and every operation
// on its name is refused, so a link cannot serve or overwrite files elsewhere (`x.yaml` →
// /etc/passwd). Links that stay inside the directory work as files.
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  readFileSync,
  realpathSync,
  statSync,
  watch,
  type Stats,
} from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import {
  DagNotFoundError,
  DaguError,
  dagNameProblem,
  MAX_DAG_FILE_BYTES,
  type DagFileInfo,
  type DagRepository,
  type DagSearchMatch,
} from '@dagu-ts/core';
import { compileSearchPattern, searchText } from './dag-search.js';

/**
 * Small files are stat'ed and read synchronously, a batch at a time with a yield to the event
 * loop in between: for thousands of DAG files that is ten times faster than fs.promises (one
 * thread-pool round trip per open/stat/read/close) and never blocks the loop for long.
 */
const IO_BATCH = 200;

function readTextOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
const EXTENSIONS = ['.yaml', '.yml'] as const;

/**
 * The canonical form of a DAG file name: without `.yaml`/`.yml`. A DaguError `bad_request` for
 * names that could leave the directory or are not file names (core's dagNameProblem: empty,
 * containing `/`, `\`, `..` or control characters, or longer than 255 bytes with the extension).
 */
export function canonicalDagFileName(fileName: string): string {
  const base = stripExtension(fileName);
  const problem = dagNameProblem(base);
  if (problem)
    throw new DaguError(
      'bad_request',
      `invalid DAG file name ${JSON.stringify(fileName)}: ${problem}`,
    );
  return base;
}

function stripExtension(fileName: string): string {
  for (const extension of EXTENSIONS)
    if (fileName.endsWith(extension)) return fileName.slice(0, -extension.length);
  return fileName;
}

export class FileDagRepository implements DagRepository {
  readonly directory: string;

  constructor(directory: string) {
    this.directory = resolve(directory);
  }

  async list(): Promise<DagFileInfo[]> {
    let entries: string[];
    try {
      entries = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const candidates: Array<{ fileName: string; entry: string; extension: string }> = [];
    for (const entry of entries.sort()) {
      const extension = EXTENSIONS.find((ext) => entry.endsWith(ext));
      if (!extension) continue;
      const fileName = entry.slice(0, -extension.length);
      if (fileName !== '') candidates.push({ fileName, entry, extension });
    }
    const byName = new Map<string, DagFileInfo>();
    for (let start = 0; start < candidates.length; start += IO_BATCH) {
      const batch = candidates.slice(start, start + IO_BATCH);
      const infos = batch.map((c) => this.fileStats(join(this.directory, c.entry)));
      await yieldToEventLoop();
      batch.forEach(({ fileName, entry, extension }, index) => {
        const info = infos[index];
        // `x.yaml` wins over `x.yml`, as in name resolution.
        if (!info?.isFile() || (byName.has(fileName) && extension === '.yml')) return;
        byName.set(fileName, {
          fileName,
          path: join(this.directory, entry),
          modifiedAt: info.mtime.toISOString(),
          size: info.size,
        });
      });
    }
    return [...byName.values()].sort((a, b) => compare(a.fileName, b.fileName));
  }

  async read(fileName: string): Promise<string> {
    const path = this.existingPath(fileName);
    try {
      // A DAG-sized file synchronously (see IO_BATCH: a catalog of thousands fills many times
      // faster); a larger one, which no loader accepts anyway, without blocking the loop.
      const size = statSync(path).size;
      if (size <= MAX_DAG_FILE_BYTES) return readFileSync(path, 'utf8');
      return await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DagNotFoundError(fileName);
      throw error;
    }
  }

  pathOf(fileName: string): string {
    const base = canonicalDagFileName(fileName);
    return this.findExisting(base) ?? join(this.directory, `${base}.yaml`);
  }

  /** Writes a new file (mode 0600); a DaguError `already_exists` if the DAG has a file already. */
  async create(fileName: string, yaml: string): Promise<void> {
    const base = canonicalDagFileName(fileName);
    await mkdir(this.directory, { recursive: true });
    if (this.findExisting(base)) throw alreadyExists(base);
    await this.writeAtomically(join(this.directory, `${base}.yaml`), yaml, { exclusive: base });
  }

  async update(fileName: string, yaml: string): Promise<void> {
    const path = this.existingPath(fileName);
    const mode = (await stat(path).catch(() => undefined))?.mode;
    if (mode === undefined) throw new DagNotFoundError(fileName);
    await this.writeAtomically(path, yaml, { mode: mode & 0o777 });
  }

  /** Moves the file to `<newFileName>.yaml`; `already_exists` when that DAG has a file. */
  async rename(fileName: string, newFileName: string): Promise<void> {
    const source = this.existingPath(fileName);
    const target = canonicalDagFileName(newFileName);
    if (target === canonicalDagFileName(fileName)) return;
    if (this.findExisting(target)) throw alreadyExists(target);
    const targetPath = join(this.directory, `${target}.yaml`);
    await linkOrRename(source, targetPath, target);
    await unlink(source).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }

  async delete(fileName: string): Promise<void> {
    const path = this.existingPath(fileName);
    try {
      await unlink(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new DagNotFoundError(fileName);
      throw error;
    }
  }

  /**
   * Files with at least one line matching the RE2 `pattern` (case-insensitive), in file-name
   * order; at most `limit` files. Files over MAX_DAG_FILE_BYTES are not searched.
   */
  async search(pattern: string, options: { limit?: number } = {}): Promise<DagSearchMatch[]> {
    const search = await compileSearchPattern(pattern);
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const results: DagSearchMatch[] = [];
    const files = (await this.list()).filter((file) => file.size <= MAX_DAG_FILE_BYTES);
    // Files are read a batch at a time (in parallel) and matched in file-name order.
    for (let start = 0; start < files.length && results.length < limit; start += IO_BATCH) {
      const batch = files.slice(start, start + IO_BATCH);
      const texts = batch.map((file) => readTextOrUndefined(file.path));
      await yieldToEventLoop();
      batch.forEach((file, index) => {
        const text = texts[index];
        if (text === undefined || results.length >= limit) return;
        const found = searchText(file.fileName, text, search);
        if (found) results.push(found);
      });
    }
    return results;
  }

  /**
   * Watches the directory (fs.watch: one event per change of any entry, temporary files of
   * atomic writes included); throws when it cannot be watched (it does not exist, say).
   */
  watch(onChange: () => void): () => void {
    const watcher = watch(this.directory, () => onChange());
    // A watcher that fails later (the directory was removed) just stops reporting.
    watcher.on('error', () => undefined);
    return () => watcher.close();
  }

  /** The file of DAG `base`, if any; a `bad_request` when it is a link out of the directory. */
  private findExisting(base: string): string | undefined {
    for (const extension of EXTENSIONS) {
      const path = join(this.directory, `${base}${extension}`);
      if (this.leavesDirectory(path)) {
        throw new DaguError(
          'bad_request',
          `DAG file ${base}${extension} is a symbolic link that leaves the DAGs directory (or is broken); it is not used`,
        );
      }
      if (existsSync(path)) return path;
    }
    return undefined;
  }

  /**
   * True when `path` is a symbolic link (or a chain of them) whose target is not inside the
   * DAGs directory (real paths compared, so a DAGs directory that is itself a link works), or
   * cannot be resolved.
   */
  private leavesDirectory(path: string, info = lstatOrUndefined(path)): boolean {
    if (!info?.isSymbolicLink()) return false;
    try {
      return !realpathSync(path).startsWith(realpathSync(this.directory) + sep);
    } catch {
      return true;
    }
  }

  /** What a listing sees at `path`: the file's stats, following only links that stay inside. */
  private fileStats(path: string): Stats | undefined {
    const info = lstatOrUndefined(path);
    if (!info?.isSymbolicLink()) return info;
    return this.leavesDirectory(path, info) ? undefined : statOrUndefined(path);
  }

  private existingPath(fileName: string): string {
    const path = this.findExisting(canonicalDagFileName(fileName));
    if (!path) throw new DagNotFoundError(fileName);
    return path;
  }

  private async writeAtomically(
    path: string,
    text: string,
    /** `exclusive`: the DAG name, when an existing file must not be replaced. */
    options: { exclusive?: string; mode?: number },
  ): Promise<void> {
    const temp = join(this.directory, `.${randomBytes(6).toString('hex')}.dagu-tmp`);
    const handle = await open(temp, 'wx', options.mode ?? 0o600);
    try {
      await handle.writeFile(text, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      if (options.exclusive !== undefined) await linkOrRename(temp, path, options.exclusive);
      else await rename(temp, path);
    } finally {
      await unlink(temp).catch(() => {});
    }
  }
}

/**
 * Puts `source` at `target` without ever replacing an existing `target`: a hard link fails with
 * EEXIST atomically. Where hard links are not supported, falls back to a checked rename.
 */
async function linkOrRename(source: string, target: string, name: string): Promise<void> {
  try {
    await link(source, target);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw alreadyExists(name);
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV')
      throw error;
    if (existsSync(target)) throw alreadyExists(name);
    await rename(source, target);
  }
}

function alreadyExists(name: string): DaguError {
  return new DaguError('already_exists', `DAG ${name} already exists`);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
