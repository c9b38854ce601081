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

export function createLogger(
  stream: { write(line: string): unknown } = process.stdout,
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
