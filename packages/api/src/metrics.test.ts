// The metrics registry is built on the first scrape; runs that ended before it still count.
import { DagRunStatus, type RunEvent } from '@dagu-ts/core';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './metrics.js';

const finished = (status: DagRunStatus, parent = false) =>
  ({
    type: 'run-finished',
    run: { status, ...(parent ? { parent: { name: 'p', dagRunId: 'p1' } } : {}) },
  }) as unknown as RunEvent;

const runsTotal = async (metrics: ReturnType<typeof createMetrics>) =>
  (await metrics.registry.getSingleMetricAsString('dagu_dag_runs_total'))
    .split('\n')
    .filter((line) => line.startsWith('dagu_dag_runs_total{'))
    .sort();

describe('createMetrics', () => {
  it('counts the runs that ended before the first scrape, and those after', async () => {
    const metrics = createMetrics(
      { version: '0.0.0' } as Parameters<typeof createMetrics>[0],
      new Date(),
    );
    metrics.observe(finished(DagRunStatus.Success));
    metrics.observe(finished(DagRunStatus.Success));
    metrics.observe(finished(DagRunStatus.Failed));
    metrics.observe(finished(DagRunStatus.Failed, true)); // a child run: not counted
    expect(await runsTotal(metrics)).toEqual([
      'dagu_dag_runs_total{status="cancelled"} 0',
      'dagu_dag_runs_total{status="error"} 1',
      'dagu_dag_runs_total{status="partial_success"} 0',
      'dagu_dag_runs_total{status="success"} 2',
    ]);
    metrics.observe(finished(DagRunStatus.Canceled));
    metrics.observe(finished(DagRunStatus.Success));
    expect(await runsTotal(metrics)).toEqual([
      'dagu_dag_runs_total{status="cancelled"} 1',
      'dagu_dag_runs_total{status="error"} 1',
      'dagu_dag_runs_total{status="partial_success"} 0',
      'dagu_dag_runs_total{status="success"} 3',
    ]);
    metrics.close();
  });
});
