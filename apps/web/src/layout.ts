// Layered layout of a DAG's steps for the graph view: a pure function from steps and their
// dependencies to boxes and edge paths, so it is tested without a DOM. Layer = longest path
// from a root (left to right); within a layer, nodes are ordered by the mean position of their
// parents (a few barycentre sweeps) to keep edges short and crossings few.

export interface GraphStep {
  name: string;
  depends?: readonly string[] | undefined;
}

export interface LaidOutNode {
  name: string;
  layer: number;
  /** Position within the layer, from 0. */
  order: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LaidOutEdge {
  from: string;
  to: string;
  /** SVG path data of a cubic curve from the source's right side to the target's left side. */
  path: string;
}

export interface GraphLayout {
  nodes: LaidOutNode[];
  edges: LaidOutEdge[];
  width: number;
  height: number;
}

export interface LayoutOptions {
  nodeWidth?: number;
  nodeHeight?: number;
  layerGap?: number;
  rowGap?: number;
  margin?: number;
}

export function layoutGraph(steps: readonly GraphStep[], options: LayoutOptions = {}): GraphLayout {
  const nodeWidth = options.nodeWidth ?? 168;
  const nodeHeight = options.nodeHeight ?? 40;
  const layerGap = options.layerGap ?? 56;
  const rowGap = options.rowGap ?? 16;
  const margin = options.margin ?? 8;

  const names = new Set(steps.map((step) => step.name));
  const parents = new Map<string, string[]>();
  for (const step of steps)
    parents.set(
      step.name,
      [...new Set(step.depends ?? [])].filter((dep) => names.has(dep) && dep !== step.name),
    );

  // Longest path from a root; a cycle (invalid DAG) is cut where it closes.
  const layerOf = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (name: string): number => {
    const known = layerOf.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return 0;
    visiting.add(name);
    let layer = 0;
    for (const parent of parents.get(name) ?? []) layer = Math.max(layer, depth(parent) + 1);
    visiting.delete(name);
    layerOf.set(name, layer);
    return layer;
  };
  for (const step of steps) depth(step.name);

  const sparse: string[][] = [];
  for (const step of steps) {
    const layer = layerOf.get(step.name) ?? 0;
    (sparse[layer] ??= []).push(step.name);
  }
  // A cut cycle can leave a layer empty.
  const layers = sparse.filter((layer) => layer !== undefined);
  const position = new Map<string, number>();
  const record = () => layers.forEach((layer) => layer.forEach((name, i) => position.set(name, i)));
  record();
  const children = new Map<string, string[]>();
  for (const [child, ps] of parents)
    for (const p of ps) (children.get(p) ?? children.set(p, []).get(p)!).push(child);
  const barycentre = (name: string, neighbours: Map<string, string[]>): number => {
    const list = neighbours.get(name) ?? [];
    if (list.length === 0) return position.get(name) ?? 0;
    return list.reduce((sum, other) => sum + (position.get(other) ?? 0), 0) / list.length;
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? layers.map((_, i) => i) : layers.map((_, i) => layers.length - 1 - i);
    for (const index of order) {
      const layer = layers[index]!;
      const keys = new Map(
        layer.map((name) => [name, barycentre(name, down ? parents : children)]),
      );
      // Stable: ties keep the previous order (the steps' file order at first).
      layer.sort((a, b) => keys.get(a)! - keys.get(b)! || position.get(a)! - position.get(b)!);
      layer.forEach((name, i) => position.set(name, i));
    }
  }

  const tallest = Math.max(0, ...layers.map((layer) => layer.length));
  const columnHeight = (count: number) => count * nodeHeight + Math.max(0, count - 1) * rowGap;
  const height = steps.length === 0 ? 0 : columnHeight(tallest) + 2 * margin;
  const width =
    steps.length === 0
      ? 0
      : layers.length * nodeWidth + (layers.length - 1) * layerGap + 2 * margin;

  const nodes: LaidOutNode[] = [];
  const byName = new Map<string, LaidOutNode>();
  layers.forEach((layer, layerIndex) => {
    // Centre each column vertically.
    const top = margin + (columnHeight(tallest) - columnHeight(layer.length)) / 2;
    layer.forEach((name, order) => {
      const node: LaidOutNode = {
        name,
        layer: layerIndex,
        order,
        x: margin + layerIndex * (nodeWidth + layerGap),
        y: top + order * (nodeHeight + rowGap),
        width: nodeWidth,
        height: nodeHeight,
      };
      nodes.push(node);
      byName.set(name, node);
    });
  });

  const edges: LaidOutEdge[] = [];
  for (const step of steps)
    for (const parent of parents.get(step.name) ?? []) {
      const from = byName.get(parent)!;
      const to = byName.get(step.name)!;
      if (from.layer >= to.layer) continue; // the edge that closed a cycle
      const x1 = from.x + from.width;
      const y1 = from.y + from.height / 2;
      const x2 = to.x;
      const y2 = to.y + to.height / 2;
      const bend = (x2 - x1) / 2;
      edges.push({
        from: parent,
        to: step.name,
        path: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
      });
    }
  return { nodes, edges, width, height };
}
