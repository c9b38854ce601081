// Small formatting helpers shared by the pages.

export function isSet(time: string | undefined): time is string {
  return time !== undefined && time !== '' && time !== '-';
}

export function formatTime(time: string | undefined): string {
  if (!isSet(time)) return '—';
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) return time;
  return date.toLocaleString(undefined, {
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}

/** Duration between two API times; an unfinished span runs until `now`. */
export function span(startedAt: string, finishedAt: string, now: number): number {
  if (!isSet(startedAt)) return NaN;
  const end = isSet(finishedAt) ? new Date(finishedAt).getTime() : now;
  return end - new Date(startedAt).getTime();
}

/** CSS class for a run or node status label ("partial success" → "partial-success"). */
export function statusClass(label: string): string {
  return `status-${label.replace(/\s+/g, '-')}`;
}

/** Line numbers mentioned in validation errors ("line 4", "4:2"). */
export function errorLines(errors: readonly string[]): Set<number> {
  const lines = new Set<number>();
  for (const error of errors)
    for (const found of error.matchAll(/^(\d+):|\bline (\d+)|\[(\d+):\d+\]/gi)) {
      const value = Number(found[1] ?? found[2] ?? found[3]);
      if (value > 0) lines.add(value);
    }
  return lines;
}
