// The server's one logger: a JSON object per line with time, level and message. Callers pass
// fields explicitly; nothing here reads configuration, so secrets are never logged by accident.
export type LogLevel = 'info' | 'warn' | 'error';

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A structured entry from elsewhere (the API's request log); time and level are added. */
  write(entry: Record<string, unknown>): void;
}

/**
 * Lines for process.stdout gathered over one turn of the event loop and written at once: stdout
 * to a pipe or file is a blocking write per call, and a busy server logs a line per request.
 * Whatever is still gathered when the process exits is written then (writes to pipes and files
 * are synchronous, so they land before the process ends).
 */
export function batchedStdout(): { write(line: string): void } {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const text = pending;
    pending = '';
    process.stdout.write(text);
  };
  process.on('exit', flush);
  return {
    write(line) {
      pending += line;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}

let sharedStdout: { write(line: string): void } | undefined;

export function createLogger(
  stream: { write(line: string): unknown } = (sharedStdout ??= batchedStdout()),
  now: () => Date = () => new Date(),
): Logger {
  const emit = (level: LogLevel, fields: Record<string, unknown>) => {
    stream.write(`${JSON.stringify({ time: now().toISOString(), level, ...fields })}\n`);
  };
  return {
    info: (msg, fields = {}) => emit('info', { msg, ...fields }),
    warn: (msg, fields = {}) => emit('warn', { msg, ...fields }),
    error: (msg, fields = {}) => emit('error', { msg, ...fields }),
    write: (entry) => {
      const level = entry.level === 'warn' || entry.level === 'error' ? entry.level : 'info';
      emit(level, entry);
    },
  };
}
