// Where `run: <name>` finds a child DAG (§2.5): the file's local DAGs first, then a path, then
// the search directories, the engine's cwd and the parent DAG's directory.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadDag } from '../dag/loader.js';
import type { Dag } from '../dag/model.js';

export interface DagLookup {
  /** DAGs callable by name before any file is searched. */
  localDags: readonly Dag[];
  searchPaths: readonly string[];
  engineCwd: string;
  /** The DAG whose step names the child. */
  parent: Dag;
}

export async function findChildDag(name: string, lookup: DagLookup): Promise<Dag> {
  const local = lookup.localDags.find((dag) => dag.name === name);
  if (local) return local;
  const { engineCwd, parent } = lookup;
  const dirs = [
    ...lookup.searchPaths,
    engineCwd,
    ...(parent.location ? [dirname(parent.location)] : []),
  ];
  const candidates = name.includes('/') ? [resolve(engineCwd, name)] : [];
  for (const dir of dirs) candidates.push(join(dir, name));
  for (const candidate of candidates) {
    for (const path of [candidate, `${candidate}.yaml`, `${candidate}.yml`]) {
      if (existsSync(path) && !path.endsWith('/')) {
        try {
          return await loadDag(path);
        } catch (error) {
          throw new Error(
            `child DAG ${JSON.stringify(name)} does not load: ${(error as Error).message}`,
          );
        }
      }
    }
  }
  throw new Error(`child DAG not found: ${JSON.stringify(name)}`);
}

/**
 * The DAG files a run may call by name, resolved ahead of time for a process that has no DAG
 * files (a worker): every static `run:` name of the DAG's steps and handlers, and of the DAGs
 * found, that `localDags` does not answer; keyed by the name as written. A name with a variable
 * or a command substitution is decided at run time and is left out, as is a name not found (the
 * step fails with the lookup's message where it runs).
 */
export async function collectChildDags(
  dag: Dag,
  lookup: Omit<DagLookup, 'parent'>,
): Promise<Record<string, Dag>> {
  const found: Record<string, Dag> = {};
  const visit = async (owner: Dag): Promise<void> => {
    const steps = [...owner.steps, ...Object.values(owner.handlerOn)];
    for (const step of steps) {
      const name = step?.run;
      if (!name || /[$`]/.test(name) || Object.hasOwn(found, name)) continue;
      if (lookup.localDags.some((local) => local.name === name)) continue;
      let child: Dag;
      try {
        child = await findChildDag(name, { ...lookup, parent: owner });
      } catch {
        continue;
      }
      found[name] = child;
      await visit(child);
    }
  };
  await visit(dag);
  for (const local of lookup.localDags) await visit(local);
  return found;
}
