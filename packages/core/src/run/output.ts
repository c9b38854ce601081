// A step's stdout/stderr logs: opened once per step (every retry and repeat appends), then per
// execution the `stdout:` / `stderr:` redirect copies and the `output:` capture, both read back
// from the logs so that a process can write straight to disk (process.ts, StepLogSink.files).
import { open } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { LogStore, LogStream, RunLogSink, StepLogSink } from '../ports.js';
import type { NodeState } from './types.js';

/** Bytes of stdout read back for `continueOn.output`. */
const OUTPUT_READ_LIMIT = 16 * 1024 * 1024;
/** Bytes copied at a time into a `stdout:` / `stderr:` redirect file. */
const COPY_CHUNK = 1024 * 1024;

/**
 * Whether a line of a node's stdout matched its `continueOn.output` patterns, decided when its
 * execution ended (or, for a node of an earlier attempt, read back when a retry starts).
 */
const outputMatched = new WeakMap<NodeState, boolean>();

export class StepLogs {
  /** How much of stderr the `stderr:` redirect has copied so far. */
  private stderrCopied = 0;

  private constructor(
    private readonly node: NodeState,
    readonly sink: StepLogSink,
  ) {}

  /** Opens the step's logs and records their references in `node.stdout` / `node.stderr`. */
  static async open(node: NodeState, run: RunLogSink, at: Date): Promise<StepLogs> {
    const sink = await run.openStep(node.step.name, at);
    node.stdout = sink.stdout;
    node.stderr = sink.stderr;
    return new StepLogs(node, sink);
  }

  write(stream: LogStream, text: string | Uint8Array): void {
    this.sink.write(stream, text);
  }

  /** The stdout log's size: an execution's output is what lies between two of these. */
  stdoutSize(): number {
    return this.sink.size('stdout');
  }

  close(): void {
    this.sink.close();
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
      stream: LogStream,
      start: number,
      end: number,
    ): Promise<void> => {
      if (!target || end <= start) return;
      const evaluated = await evaluate(target);
      const path = isAbsolute(evaluated) ? evaluated : resolve(workDir, evaluated);
      const handle = await open(path, 'a', 0o600);
      try {
        for (let at = start; at < end;) {
          const chunk = this.sink.read(stream, at, Math.min(COPY_CHUNK, end - at));
          if (chunk.length === 0) break;
          await handle.write(chunk);
          at += chunk.length;
        }
      } finally {
        await handle.close();
      }
    };
    await copy(step.stdout, 'stdout', stdout.start, stdout.end);
    if (step.stderr) {
      // stderr has no recorded start offset per execution: copy what this execution appended.
      const errEnd = this.sink.size('stderr');
      await copy(step.stderr, 'stderr', this.stderrCopied, errEnd);
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
    const value = this.sink.read('stdout', stdout.start, size).toString('utf8').trim();
    this.node.outputs[name] = `${name}=${value}`;
    return undefined;
  }

  /** Decides `continueOn.output` from the stdout written so far. */
  matchOutput(): void {
    const patterns = this.node.step.continueOn.output;
    if (patterns.length === 0) return;
    const size = this.sink.size('stdout');
    const start = Math.max(0, size - OUTPUT_READ_LIMIT);
    const text = this.sink.read('stdout', start, size - start).toString('utf8');
    outputMatched.set(this.node, matchesAny(text, patterns));
  }
}

/** `continueOn.output`: whether a line of the step's stdout matched (`re:` for a regexp). */
export function outputMatches(node: NodeState): boolean {
  return outputMatched.get(node) ?? false;
}

/** Reads back `continueOn.output` for the finished nodes of an earlier attempt (a retry). */
export async function recallOutputMatches(
  nodes: readonly NodeState[],
  logs: LogStore,
): Promise<void> {
  for (const node of nodes) {
    const patterns = node.step.continueOn.output;
    if (patterns.length === 0 || !node.stdout || outputMatched.has(node)) continue;
    const text = await logs.readTail(node.stdout, OUTPUT_READ_LIMIT).catch(() => undefined);
    if (text !== undefined) outputMatched.set(node, matchesAny(text, patterns));
  }
}

function matchesAny(text: string, patterns: readonly string[]): boolean {
  const lines = text.split('\n');
  return patterns.some((pattern) =>
    pattern.startsWith('re:')
      ? lines.some((line) => safeRegExp(pattern.slice(3))?.test(line))
      : lines.some((line) => line.includes(pattern)),
  );
}

function safeRegExp(source: string): RegExp | undefined {
  try {
    return new RegExp(source);
  } catch {
    return undefined;
  }
}
