// Dependency graph helpers over steps whose `depends` hold step names.
import type { Step } from './model.js';

/**
 * A dependency cycle as step names, each depending on the next, the first repeated at the end;
 * undefined when the graph has none.
 */
export function findCycle(steps: readonly Pick<Step, 'name' | 'depends'>[]): string[] | undefined {
  const byName = new Map(steps.map((step) => [step.name, step]));
  const state = new Map<string, 'visiting' | 'done'>();
  const trail: string[] = [];

  const visit = (name: string): string[] | undefined => {
    const mark = state.get(name);
    if (mark === 'done') return undefined;
    if (mark === 'visiting') return [...trail.slice(trail.indexOf(name)), name];
    state.set(name, 'visiting');
    trail.push(name);
    for (const upstream of byName.get(name)?.depends ?? []) {
      if (!byName.has(upstream)) continue;
      const cycle = visit(upstream);
      if (cycle) return cycle;
    }
    trail.pop();
    state.set(name, 'done');
    return undefined;
  };

  for (const step of steps) {
    const cycle = visit(step.name);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Steps ordered so that every step comes after its upstreams; ties keep definition order. */
export function topologicalOrder<T extends Pick<Step, 'name' | 'depends'>>(
  steps: readonly T[],
): T[] {
  const ordered: T[] = [];
  const placed = new Set<string>();
  const pending = [...steps];
  while (pending.length > 0) {
    const index = pending.findIndex((step) => step.depends.every((name) => placed.has(name)));
    if (index < 0) throw new Error('dependency cycle');
    const [step] = pending.splice(index, 1) as [T];
    ordered.push(step);
    placed.add(step.name);
  }
  return ordered;
}
