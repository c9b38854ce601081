// A step's stdout/stderr log files: opened once per step (every retry and repeat appends), then
// per execution the `stdout:` / `stderr:` redirect copies and the `output:` capture, both read
// back from the log files so that a process writes straight to disk (process.ts).
import { createReadStream, createWriteStream, readFileSync, statSync } from 'node:fs';
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { RunLogLayout } from './logs.js';
import type { NodeState } from './types.js';

/** Bytes of stdout read back for `continueOn.output`. */
const OUTPUT_READ_LIMIT = 16 * 1024 * 1024;

export class StepLogs {
  /** How much of stderr the `stderr:` redirect has copied so far. */
  private stderrCopied = 0;

  private constructor(
    private readonly node: NodeState,
    readonly stdoutFd: number,
    readonly stderrFd: number,
  ) {}

  /** Names the step's log files (recorded in `node.stdout` / `node.stderr`) and opens them. */
  static open(node: NodeState, layout: RunLogLayout, at: Date): StepLogs {
    node.stdout = layout.stepLogFile(node.step.name, 'out', at);
    node.stderr = layout.stepLogFile(node.step.name, 'err', at);
    const stdoutFd = openSync(node.stdout, 'a');
    const stderrFd = openSync(node.stderr, 'a');
    return new StepLogs(node, stdoutFd, stderrFd);
  }

  write(stream: 'stdout' | 'stderr', text: string): void {
    writeSync(stream === 'stdout' ? this.stdoutFd : this.stderrFd, text);
  }

  /** The stdout log's size: an execution's output is what lies between two of these. */
  stdoutSize(): number {
    return fstatSync(this.stdoutFd).size;
  }

  close(): void {
    closeSync(this.stdoutFd);
    closeSync(this.stderrFd);
  }

  /**
   * Appends what one execution wrote to the step's `stdout:` / `stderr:` files (`evaluate` turns
   * the written path into a path; relative ones are under `workDir`).
   */
  async copyToRedirects(
    stdout: { start: number; end: number },
    workDir: string,
    evaluate: (path: string) => Promise<string>,
  ): Promise<void> {
    const step = this.node.step;
    const copy = async (
      target: string | undefined,
      source: string,
      start: number,
      end: number,
    ): Promise<void> => {
      if (!target || end <= start) return;
      const evaluated = await evaluate(target);
      const path = isAbsolute(evaluated) ? evaluated : resolve(workDir, evaluated);
      await pipeline(
        createReadStream(source, { start, end: end - 1 }),
        createWriteStream(path, { flags: 'a', mode: 0o600 }),
      );
    };
    await copy(step.stdout, this.node.stdout, stdout.start, stdout.end);
    if (step.stderr) {
      // stderr has no recorded start offset per execution: copy what this execution appended.
      const errEnd = fstatSync(this.stderrFd).size;
      await copy(step.stderr, this.node.stderr, this.stderrCopied, errEnd);
      this.stderrCopied = errEnd;
    }
  }

  /**
   * `output:`: one execution's stdout, trimmed, into the step's output variable. Returns the
   * error that fails the execution when it is larger than `limit` (`maxOutputSize`).
   */
  captureOutput(
    name: string,
    stdout: { start: number; end: number },
    limit: number,
  ): string | undefined {
    const size = stdout.end - stdout.start;
    if (size > limit) {
      delete this.node.outputs[name];
      return `failed to capture output: output exceeded maximum size limit of ${limit} bytes`;
    }
    const value = readRange(this.node.stdout, stdout.start, size).trim();
    this.node.outputs[name] = `${name}=${value}`;
    return undefined;
  }
}

/** `continueOn.output`: whether a line of the step's stdout matches (`re:` for a regexp). */
export function outputMatches(node: NodeState, patterns: readonly string[]): boolean {
  const lines = readTail(node.stdout, OUTPUT_READ_LIMIT).split('\n');
  return patterns.some((pattern) =>
    pattern.startsWith('re:')
      ? lines.some((line) => safeRegExp(pattern.slice(3))?.test(line))
      : lines.some((line) => line.includes(pattern)),
  );
}

function readRange(path: string, start: number, length: number): string {
  if (length <= 0) return '';
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, start);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function readTail(path: string, limit: number): string {
  const size = statSync(path).size;
  if (size <= limit) return readFileSync(path, 'utf8');
  return readRange(path, size - limit, limit);
}

function safeRegExp(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}
