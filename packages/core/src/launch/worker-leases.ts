// Leases of runs held by workers: a worker that stops sending heartbeats (killed, cut off) loses
// its runs. A run it had started fails with an error naming it; one it had only claimed goes back
// to its queue for another worker. Runs are closed through the RunStore port, like any run end.
import { NodeStatus, DagRunStatus } from '../run/status.js';
import type { NodeState } from '../run/types.js';
import type { RunStore, WorkerStore } from '../ports.js';

export interface ExpiredLease {
  workerId: string;
  name: string;
  dagRunId: string;
  outcome: 'failed' | 'requeued';
}

/**
 * Ends the leases of workers silent since `now - leaseMs`. The caller runs it periodically and
 * only once it has itself been up for a lease (after a restart, workers need that long to reach it).
 */
export async function expireWorkerLeases(
  ports: { runs: RunStore; workers: WorkerStore },
  now: Date,
  leaseMs: number,
): Promise<ExpiredLease[]> {
  const expired: ExpiredLease[] = [];
  for (const lease of await ports.workers.staleLeases(new Date(now.getTime() - leaseMs))) {
    const { workerId, name, dagRunId } = lease;
    if (!lease.started) {
      await ports.workers.requeue(name, dagRunId);
      expired.push({ workerId, name, dagRunId, outcome: 'requeued' });
      continue;
    }
    const stored = await ports.runs.getRun(name, dagRunId);
    const run = stored?.snapshot;
    if (run && (run.status === DagRunStatus.Running || run.status === DagRunStatus.Queued)) {
      const error = `worker ${workerId} stopped sending heartbeats (no heartbeat for ${leaseMs / 1000} s); the run is failed`;
      const finishedAt = now.toISOString();
      const nodes: NodeState[] = [...run.nodes, ...Object.values(run.handlers)];
      for (const node of nodes) {
        if (node.status !== NodeStatus.Running) continue;
        node.status = NodeStatus.Failed;
        node.error ||= error;
        node.finishedAt ||= finishedAt;
      }
      run.status = DagRunStatus.Failed;
      run.error = error;
      run.finishedAt = finishedAt;
      await ports.runs.record({ type: 'run-finished', run });
    }
    await ports.workers.release(name, dagRunId);
    expired.push({ workerId, name, dagRunId, outcome: 'failed' });
  }
  return expired;
}
