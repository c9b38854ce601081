// The `jq` executor (dag-yaml.md §6 and Part A #9): runs the step's query with real jq (jq 1.8.2
// compiled to WebAssembly, package jq-wasm) on the step's script and prints every result on its
// own line, the way the `jq` command does. jq-wasm trims its stdout, so jq runs with `--seq` and
// every result, framed by an RS byte, survives exactly.
import { evaluateString } from '../eval/index.js';
import { evaluateStepConfig, stepEvalContext } from './config.js';
import { reportOutcome, type Executor, type ExecutorOutcome } from './executor.js';

export interface JqOptions {
  /** The jq filter (the step's `command`, already substituted by the caller). */
  query: string;
  /** The JSON input (the step's `script`, already evaluated by the caller). */
  input: string;
  /** `config.raw`: like `jq -r`, strings are printed without quotes. */
  raw: boolean;
}

/** Queries longer than this are refused: jq-wasm copies the query onto a small wasm stack. */
export const MAX_JQ_QUERY_BYTES = 32 * 1024;

const RS = '\x1e';

/** The `jq` executor: `command` is the query, `script` the input, `config.raw` is `jq -r`. */
export const jqExecutor: Executor = {
  async run(context) {
    const config = await evaluateStepConfig(context);
    const query = await context.commandLine(true, 'text');
    const input = await evaluateString(context.node.step.script ?? '', stepEvalContext(context));
    const raw = config.raw === true || config.raw === 'true';
    return reportOutcome(context, await runJq({ query, input, raw }));
  },
};

/** jq's exit status for a query that does not compile. */
const JQ_COMPILE_ERROR = 3;

/**
 * Runs `query` on `input` like `jq [-r] query`. Compile errors and invalid input JSON fail the step
 * (exit code 1). Errors raised while the query runs are written to stderr after the results
 * produced before them, and the step succeeds, as in Dagu.
 */
export async function runJq(options: JqOptions): Promise<ExecutorOutcome> {
  const { query, raw } = options;
  const input = options.input.replace(/^\uFEFF/, '');
  try {
    JSON.parse(input);
  } catch (error) {
    return failure(`jq: invalid JSON input: ${messageOf(error)}`);
  }
  const queryBytes = Buffer.byteLength(query, 'utf8');
  if (queryBytes > MAX_JQ_QUERY_BYTES) {
    return failure(`jq: query too long (${queryBytes} bytes, at most ${MAX_JQ_QUERY_BYTES})`);
  }

  const run = await execJq(input, query);
  if (run.kind === 'internal') return failure(`jq: internal error: ${run.message}`);

  const stdout = formatResults(run.stdout, raw);
  const stderr = run.stderr.trim();
  if (run.exitCode === 0) {
    return { stdout, stderr: stderr ? `${stderr}\n` : '', exitCode: 0, error: undefined };
  }
  if (run.exitCode === JQ_COMPILE_ERROR || (stdout === '' && isCompileError(stderr))) {
    const firstLine = (stderr.split('\n')[0] ?? '').replace(/^jq: error: /, '');
    return failure(`jq: invalid query: ${firstLine || `exit status ${run.exitCode}`}`, stderr);
  }
  const inputError = /^jq: (?:error \(at [^)]*\): )?(?:ignoring )?parse error: (.*)/.exec(stderr);
  if (stdout === '' && inputError) {
    return failure(`jq: invalid JSON input: ${inputError[1] ?? stderr}`, stderr);
  }
  // A run-time error (or halt_error): jq stops, keeping the results printed so far. Dagu reports
  // it on stderr and lets the step succeed. jq-wasm drops the message when there were results, so
  // it is recovered by running the query again with its output discarded.
  const message =
    stderr ||
    (await recoverErrorMessage(input, query)) ||
    `jq: error (exit status ${run.exitCode})`;
  return { stdout, stderr: `${message}\n`, exitCode: 0, error: undefined };
}

/** Splits `--seq` output into result texts and prints each on its own line. */
function formatResults(output: string, raw: boolean): string {
  if (output === '') return '';
  const parts = output.split(RS);
  const results = parts[0] === '' ? parts.slice(1) : parts;
  let text = '';
  for (const part of results) {
    const json = part.endsWith('\n') ? part.slice(0, -1) : part;
    // jq escapes every control character inside strings, so an RS never appears in a result.
    text += raw && json.startsWith('"') ? `${JSON.parse(json) as string}\n` : `${json}\n`;
  }
  return text;
}

function isCompileError(stderr: string): boolean {
  return /\bcompile errors?$/.test(stderr);
}

async function recoverErrorMessage(input: string, query: string): Promise<string | undefined> {
  const again = await execJq(input, `(${query}\n) | empty`);
  if (again.kind === 'internal' || again.exitCode === 0 || again.exitCode === JQ_COMPILE_ERROR) {
    return undefined;
  }
  return again.stderr.trim() || undefined;
}

function failure(error: string, stderr = error): ExecutorOutcome {
  return { stdout: '', stderr: `${stderr}\n`, exitCode: 1, error };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---- jq-wasm adapter ------------------------------------------------------------------------

type JqRun =
  | { kind: 'exited'; stdout: string; stderr: string; exitCode: number }
  | { kind: 'internal'; message: string };

/** One jq run: `jq -M --seq query` with `input` on stdin. */
async function execJq(input: string, query: string): Promise<JqRun> {
  try {
    // Loaded on first use: importing jq-wasm costs ~100 ms that runs without jq steps never pay.
    const { raw: jqRaw } = await import('jq-wasm');
    // jq-wasm trims stdout; with --seq every result starts with RS, so nothing of it is lost.
    const result = await jqRaw(`${RS}${input}`, query, ['--seq']);
    return {
      kind: 'exited',
      stdout: result.stdout,
      stderr: result.stderr.replaceAll('/dev/stdin', '<stdin>'),
      exitCode: result.exitCode,
    };
  } catch (error) {
    return { kind: 'internal', message: messageOf(error) };
  }
}
