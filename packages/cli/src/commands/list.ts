// `dagu-ts list`: the DAG files of the DAGs directory with their schedule and latest run.
import { dagRunStatusLabel, loadDagMetadata } from '@dagu-ts/core';
import { withStore } from './context.js';
import { formatDagList } from './remote.js';

export async function listCommand(): Promise<number> {
  return withStore(async (store) => {
    const rows: string[][] = [];
    for (const file of await store.dags.list()) {
      const metadata = await loadDagMetadata(file.path).catch(() => undefined);
      const name = metadata?.name ?? file.fileName;
      const latest = await store.runs.getLatestRun(name);
      rows.push([
        file.fileName,
        metadata ? name : `${name} (does not load)`,
        (metadata?.schedule.start ?? []).map((s) => s.expression).join(', '),
        dagRunStatusLabel(latest?.snapshot.status ?? 0),
        (await store.flags.isSuspended(file.fileName)) ? 'suspended' : '',
      ]);
    }
    process.stdout.write(formatDagList(rows));
    return 0;
  });
}
