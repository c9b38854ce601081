// The log viewer's state as plain data: which window of a step's log to ask the API for next,
// and how an answer merges into what is shown. The viewer never reads the whole file: it starts
// with the last lines (`tail`), follows with `offset`/`limit` windows from the last line it has
// (re-read, since it may have been half-written) and loads earlier lines on demand.

/** What the log endpoints answer (the SDK's `Log`). */
export interface LogAnswer {
  content: string;
  lineCount?: number | undefined;
  totalLines?: number | undefined;
  hasMore?: boolean | undefined;
  isEstimate?: boolean | undefined;
}

export type LogQuery = { tail: number } | { offset: number; limit: number };

export interface LogBuffer {
  /** 1-based number of `lines[0]` in the file. */
  firstLine: number;
  lines: string[];
  /** Line numbers are estimates (a large file's tail): follow by tail windows instead. */
  estimated: boolean;
}

export const TAIL_LINES = 500;
export const FOLLOW_LIMIT = 1000;
export const EARLIER_LIMIT = 500;
/** At most this many lines are kept; the oldest are dropped while following. */
export const MAX_LINES = 5000;

export const emptyBuffer = (): LogBuffer => ({ firstLine: 1, lines: [], estimated: false });

export function splitLines(content: string): string[] {
  return content === '' ? [] : content.split('\n');
}

/** Number of the line after the last one held. */
export function nextLine(buffer: LogBuffer): number {
  return buffer.firstLine + buffer.lines.length;
}

export function initialQuery(): LogQuery {
  return { tail: TAIL_LINES };
}

/** The first window: the end of the file. */
export function fromTail(answer: LogAnswer): LogBuffer {
  const lines = splitLines(answer.content);
  const total = Math.max(answer.totalLines ?? lines.length, lines.length);
  return { firstLine: total - lines.length + 1, lines, estimated: answer.isEstimate === true };
}

/** What to ask for to follow the file: from the last line held (it may have grown). */
export function followQuery(buffer: LogBuffer): LogQuery {
  if (buffer.estimated) return { tail: TAIL_LINES };
  return { offset: Math.max(1, nextLine(buffer) - 1), limit: FOLLOW_LIMIT };
}

function capped(buffer: LogBuffer): LogBuffer {
  const excess = buffer.lines.length - MAX_LINES;
  if (excess <= 0) return buffer;
  return { ...buffer, firstLine: buffer.firstLine + excess, lines: buffer.lines.slice(excess) };
}

/** Merges the answer to `query` (from followQuery) into the buffer. */
export function applyFollow(buffer: LogBuffer, query: LogQuery, answer: LogAnswer): LogBuffer {
  if ('tail' in query) return fromTail(answer);
  const lines = splitLines(answer.content);
  if (lines.length === 0 && query.offset <= buffer.firstLine) return buffer;
  // Lines from query.offset on are replaced by the answer; those before it stay.
  const keep = Math.max(0, query.offset - buffer.firstLine);
  if (keep > buffer.lines.length) return capped({ ...buffer, firstLine: query.offset, lines });
  if (lines.length === 0) return buffer; // nothing new (or the file shrank): keep what is shown
  return capped({ ...buffer, lines: [...buffer.lines.slice(0, keep), ...lines] });
}

/** Whether lines before the buffer exist. */
export function hasEarlier(buffer: LogBuffer): boolean {
  return !buffer.estimated && buffer.firstLine > 1;
}

/** The window just before the buffer. */
export function earlierQuery(buffer: LogBuffer): LogQuery {
  const offset = Math.max(1, buffer.firstLine - EARLIER_LIMIT);
  return { offset, limit: buffer.firstLine - offset };
}

export function applyEarlier(buffer: LogBuffer, query: LogQuery, answer: LogAnswer): LogBuffer {
  if ('tail' in query) return buffer;
  const lines = splitLines(answer.content).slice(0, buffer.firstLine - query.offset);
  return { ...buffer, firstLine: query.offset, lines: [...lines, ...buffer.lines] };
}
