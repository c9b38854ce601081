// Built-in executors that run inside the engine process (dag-yaml.md §6): jq and http.

/** What an in-process executor produced. Step-level failures are reported here, never thrown. */
export interface ExecutorOutcome {
  /** Text for the step's stdout (what `output:` captures). */
  stdout: string;
  /** Text for the step's stderr log. */
  stderr: string;
  /** 0 on success; 1 on failure. */
  exitCode: number;
  /** Why the step failed; undefined on success. */
  error: string | undefined;
}

export { runJq, MAX_JQ_QUERY_BYTES } from './jq.js';
export type { JqOptions } from './jq.js';
export { runHttp, parseHttpConfig } from './http.js';
export type { HttpOptions, HttpConfig } from './http.js';
