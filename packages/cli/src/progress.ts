// Step progress of a run for the terminal: a live table redrawn in place on a TTY, plain
// timestamped lines otherwise (CI logs, pipes).
import {
  dagRunStatusLabel,
  nodeStatusLabel,
  type DagRunSnapshot,
  type NodeState,
  type RunEvent,
} from '@dagu-ts/core';

export interface ProgressView {
  onEvent(event: RunEvent): void;
  done(run: DagRunSnapshot): void;
}

let quiet = false;

/** `-q/--quiet`: no progress output; errors and the requested data are still printed. */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** Writes one progress line to stderr unless --quiet. */
export function progressLine(line: string): void {
  if (!quiet) process.stderr.write(`${line}\n`);
}

export function createProgressView(stream: NodeJS.WriteStream): ProgressView {
  if (quiet) return { onEvent: () => {}, done: () => {} };
  return stream.isTTY ? new LiveView(stream) : new LineView(stream);
}

function describeNode(node: NodeState): string {
  const parts = [nodeStatusLabel(node.status)];
  if (node.status === 2 || (node.exitCode !== 0 && node.status !== 0))
    parts.push(`exit ${node.exitCode}`);
  if (node.retryCount > 0) parts.push(`retries ${node.retryCount}`);
  if (node.doneCount > 1) parts.push(`runs ${node.doneCount}`);
  if (node.error) parts.push(node.error);
  return parts.join(', ');
}

class LineView implements ProgressView {
  constructor(private readonly stream: NodeJS.WriteStream) {}

  onEvent(event: RunEvent): void {
    const time = new Date().toISOString();
    if (event.type === 'run-started') {
      this.stream.write(
        `${time} run ${event.run.name} ${event.run.dagRunId} started${event.run.params ? ` (params: ${event.run.params})` : ''}\n`,
      );
    } else if (event.type === 'step-started') {
      this.stream.write(`${time} step ${event.node.step.name}: running\n`);
    } else if (
      event.type === 'step-finished' ||
      (event.type === 'step-updated' && event.node.status !== 1)
    ) {
      this.stream.write(`${time} step ${event.node.step.name}: ${describeNode(event.node)}\n`);
    }
  }

  done(run: DagRunSnapshot): void {
    this.stream.write(
      `${new Date().toISOString()} run ${run.name} ${run.dagRunId} ${dagRunStatusLabel(run.status)}${run.error ? `: ${run.error}` : ''}\n`,
    );
  }
}

const COLORS: Record<number, string> = {
  1: '\x1b[36m',
  2: '\x1b[31m',
  3: '\x1b[33m',
  4: '\x1b[32m',
  5: '\x1b[90m',
};

class LiveView implements ProgressView {
  private drawnLines = 0;
  private run: DagRunSnapshot | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stream: NodeJS.WriteStream) {}

  onEvent(event: RunEvent): void {
    this.run = event.run;
    // Redraw at most every 50 ms: fast runs emit many events.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 50);
  }

  done(run: DagRunSnapshot): void {
    if (this.timer) clearTimeout(this.timer);
    this.run = run;
    this.draw();
    this.stream.write(
      `${run.name} ${run.dagRunId}: ${dagRunStatusLabel(run.status)}${run.error ? ` (${run.error})` : ''}\n`,
    );
  }

  private draw(): void {
    const run = this.run;
    if (!run) return;
    let nodes = [...run.nodes, ...Object.values(run.handlers).filter((n) => n.status !== 0)];
    const header = [`${run.name} ${run.dagRunId} — ${dagRunStatusLabel(run.status)}`];
    // A run larger than the terminal: the counts, then the steps worth a look (running, failed,
    // canceled) as far as they fit; the table stays a screen, however many steps the run has.
    const room = Math.max(5, (this.stream.rows || 24) - 3);
    if (nodes.length > room) {
      const counts = new Map<number, number>();
      for (const node of nodes) counts.set(node.status, (counts.get(node.status) ?? 0) + 1);
      header.push(
        `  ${[...counts].map(([status, n]) => `${n} ${nodeStatusLabel(status as NodeState['status'])}`).join(', ')}`,
      );
      nodes = nodes.filter((n) => n.status === 1 || n.status === 2 || n.status === 3);
      nodes = nodes.slice(0, room - 1);
    }
    const width = Math.max(4, ...nodes.map((n) => n.step.name.length));
    const lines = [
      ...header,
      ...nodes.map(
        (n) =>
          `  ${COLORS[n.status] ?? ''}●\x1b[0m ${n.step.name.padEnd(width)}  ${describeNode(n)}`,
      ),
    ];
    // Blank out what a longer earlier table left below this one.
    while (lines.length < this.drawnLines) lines.push('');
    const up = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A` : '';
    this.stream.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    this.drawnLines = lines.length;
  }
}
