// Typed errors of the engine. Each carries a stable `code` that adapters (API, CLI) map to
// statuses and exit codes in one place.

export type DaguErrorCode =
  | 'validation_error'
  | 'not_found'
  | 'already_exists'
  | 'already_running'
  | 'not_running'
  | 'bad_request'
  | 'unavailable'
  | 'internal_error';

export class DaguError extends Error {
  readonly code: DaguErrorCode;
  constructor(code: DaguErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The store cannot be written (disk full, read-only or locked database). Transient by nature:
 * the caller may retry later; the API answers 503, a running run keeps going.
 */
export class StoreUnavailableError extends DaguError {
  constructor(message: string, options?: ErrorOptions) {
    super('unavailable', message, options);
  }
}

/** Whether `error` is a store that cannot be written right now (see StoreUnavailableError). */
export function isStoreUnavailable(error: unknown): boolean {
  return error instanceof DaguError && error.code === 'unavailable';
}

/** One problem found while loading a DAG file. `line` is 1-based; 0 when unknown. */
export interface ValidationIssue {
  path: string;
  line: number;
  message: string;
}

/** A DAG file that does not load: every problem found, not just the first. */
export class DagValidationError extends DaguError {
  readonly issues: ValidationIssue[];
  readonly file: string | undefined;
  constructor(issues: ValidationIssue[], file?: string) {
    super('validation_error', formatIssues(issues, file));
    this.issues = issues;
    this.file = file;
  }
}

/** `file:line: message` per issue, the format of `dagu-ts validate`. */
export function formatIssues(issues: readonly ValidationIssue[], file?: string): string {
  return issues
    .map((issue) => {
      const where = [file, issue.line > 0 ? String(issue.line) : undefined]
        .filter(Boolean)
        .join(':');
      const subject = issue.path ? `${issue.path}: ` : '';
      return `${where ? `${where}: ` : ''}${subject}${issue.message}`;
    })
    .join('\n');
}

export class DagNotFoundError extends DaguError {
  constructor(name: string) {
    super('not_found', `DAG not found: ${name}`);
  }
}
