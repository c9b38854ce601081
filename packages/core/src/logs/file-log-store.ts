// The log store on the local disk (dag-yaml.md §4.11): a run's logs are files under
// <directory>/<safe dag>/dag-run_<stamp>_<runId>/ (run/logs.ts names them), and a reference is
// the file's absolute path. Step processes write straight into the files (StepLogSink.files).
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import type {
  LogStore,
  LogStream,
  LogWindow,
  LogWindowQuery,
  RunLogSink,
  RunLogTarget,
  StepLogSink,
} from '../ports.js';
import { runLogLayout, safeName, type RunLogLayout } from '../run/logs.js';
import type { DagRunSnapshot } from '../run/types.js';
import { readFileWindow } from './file-window.js';

export class FileLogStore implements LogStore {
  /**
   * `directory`: the base of every run's logs (a DAG's own `logDir:` wins). '' names paths
   * relative to the working directory and moves nothing on rename.
   */
  constructor(readonly directory: string) {}

  async openRun(target: RunLogTarget): Promise<RunLogSink> {
    const layout = runLogLayout(
      target.logDir ?? this.directory,
      target.dagName,
      target.dagRunId,
      target.attemptId,
      target.startedAt,
    );
    // Whether this attempt created its run directory (removed again when the start fails).
    const ownsRunDir = !existsSync(layout.runDir);
    try {
      mkdirSync(layout.attemptDir, { recursive: true });
      return new FileRunLogSink(layout, ownsRunDir, openSync(layout.runLogFile, 'a'));
    } catch (error) {
      removeAttempt(layout, ownsRunDir);
      throw error;
    }
  }

  readWindow(ref: string, query: LogWindowQuery): Promise<LogWindow | undefined> {
    return readFileWindow(ref, query);
  }

  async readTail(ref: string, maxBytes: number): Promise<string | undefined> {
    let size: number;
    try {
      const info = statSync(ref);
      if (!info.isFile()) return undefined;
      size = info.size;
    } catch {
      return undefined;
    }
    const start = Math.max(0, size - maxBytes);
    return readRange(ref, start, size - start).toString('utf8');
  }

  async deleteRunLogs(attempts: readonly DagRunSnapshot[]): Promise<void> {
    const doomed = { dirs: new Set<string>(), files: new Set<string>() };
    for (const attempt of attempts) collectLogPaths(attempt, doomed);
    await Promise.all([...doomed.dirs].map((dir) => rm(dir, { recursive: true, force: true })));
    await Promise.all([...doomed.files].map((file) => rm(file, { force: true }).catch(() => {})));
  }

  async moveDagLogs(from: string, to: string): Promise<((ref: string) => string) | undefined> {
    if (!this.directory || from === to) return undefined;
    const fromDir = join(this.directory, safeName(from));
    const toDir = join(this.directory, safeName(to));
    if (!existsSync(fromDir) || existsSync(toDir)) return undefined;
    renameSync(fromDir, toDir);
    return (ref) => (ref.startsWith(`${fromDir}/`) ? `${toDir}${ref.slice(fromDir.length)}` : ref);
  }
}

class FileRunLogSink implements RunLogSink {
  constructor(
    private readonly layout: RunLogLayout,
    private readonly ownsRunDir: boolean,
    private fd: number | undefined,
  ) {}

  get ref(): string {
    return this.layout.runLogFile;
  }

  get tempDir(): string {
    return this.layout.attemptDir;
  }

  log(line: string): void {
    if (this.fd === undefined) return;
    try {
      writeSync(this.fd, `${line}\n`);
    } catch {
      // The run log is a convenience (disk full, say): the run and its record go on without it.
    }
  }

  async openStep(stepName: string, at: Date): Promise<StepLogSink> {
    return new FileStepLogSink(
      new StepLogFile(this.layout.stepLogFile(stepName, 'out', at)),
      new StepLogFile(this.layout.stepLogFile(stepName, 'err', at)),
    );
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  async discard(): Promise<void> {
    this.close();
    removeAttempt(this.layout, this.ownsRunDir);
  }
}

/**
 * One log file of a step, opened on first use: a step forked by the spawn helper has its files
 * opened (created) there by path, so the engine opens them only to write into them itself (a
 * message, a step forked here). A file nobody created by the time the step closes its logs (a
 * step that never started a process) is created then, empty, as readers expect.
 */
class StepLogFile {
  private opened: number | undefined;
  /** The file is known to exist (opened here, or seen by size()). */
  private exists = false;

  constructor(readonly path: string) {}

  get fd(): number {
    this.opened ??= openSync(this.path, 'a');
    this.exists = true;
    return this.opened;
  }

  size(): number {
    if (this.opened !== undefined) return fstatSync(this.opened).size;
    try {
      const { size } = statSync(this.path);
      this.exists = true;
      return size;
    } catch {
      return 0;
    }
  }

  close(): void {
    try {
      if (this.opened !== undefined) closeSync(this.opened);
      else if (!this.exists) closeSync(openSync(this.path, 'a'));
    } catch {
      // A log that cannot be created (its directory gone, disk full) costs the run nothing.
    }
    this.opened = undefined;
    this.exists = true;
  }
}

class FileStepLogSink implements StepLogSink {
  readonly files: { stdout: StepLogFile; stderr: StepLogFile };

  constructor(stdout: StepLogFile, stderr: StepLogFile) {
    this.files = { stdout, stderr };
  }

  get stdout(): string {
    return this.files.stdout.path;
  }

  get stderr(): string {
    return this.files.stderr.path;
  }

  write(stream: LogStream, data: string | Uint8Array): void {
    const fd = this.files[stream].fd;
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
  }

  size(stream: LogStream): number {
    return this.files[stream].size();
  }

  read(stream: LogStream, start: number, length: number): Buffer {
    return readRange(this.files[stream].path, start, length);
  }

  close(): void {
    this.files.stdout.close();
    this.files.stderr.close();
  }
}

/** Another attempt's directory (a retry within the same second) keeps its files. */
function removeAttempt(layout: RunLogLayout, ownsRunDir: boolean): void {
  rmSync(ownsRunDir ? layout.runDir : layout.attemptDir, { recursive: true, force: true });
}

function readRange(path: string, start: number, length: number): Buffer {
  if (length <= 0) return Buffer.alloc(0);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    // A step log nobody has created yet (StepLogFile) is empty.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
    throw error;
  }
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, start);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * Log files of one attempt: the run's log directory, removed recursively only when it has the
 * runner's `dag-run_<stamp>_<id>` shape (so nothing else is ever removed recursively), and each
 * node's stdout/stderr file (removed as a file, never as a directory).
 */
function collectLogPaths(
  snapshot: DagRunSnapshot,
  into: { dirs: Set<string>; files: Set<string> },
): void {
  if (snapshot.log && isAbsolute(snapshot.log)) {
    const runDir = dirname(snapshot.log);
    const dirName = basename(runDir);
    if (dirName.startsWith('dag-run_') && dirName.endsWith(`_${snapshot.dagRunId}`))
      into.dirs.add(runDir);
    else into.files.add(snapshot.log);
  }
  for (const node of [...snapshot.nodes, ...Object.values(snapshot.handlers)]) {
    for (const file of [node.stdout, node.stderr])
      if (file && isAbsolute(file)) into.files.add(file);
  }
}
