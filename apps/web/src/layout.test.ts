import { describe, expect, it } from 'vitest';
import { layoutGraph } from './layout.js';

const overlaps = (a: { x: number; y: number; width: number; height: number }, b: typeof a) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

describe('layoutGraph', () => {
  it('puts each step one layer right of its deepest dependency', () => {
    const layout = layoutGraph([
      { name: 'extract' },
      { name: 'transform', depends: ['extract'] },
      { name: 'audit', depends: ['extract'] },
      { name: 'load', depends: ['transform', 'audit', 'extract'] },
    ]);
    const layer = Object.fromEntries(layout.nodes.map((node) => [node.name, node.layer]));
    expect(layer).toEqual({ extract: 0, transform: 1, audit: 1, load: 2 });
    expect(layout.edges.map((edge) => `${edge.from}>${edge.to}`).sort()).toEqual([
      'audit>load',
      'extract>audit',
      'extract>load',
      'extract>transform',
      'transform>load',
    ]);
  });

  it('never overlaps boxes and keeps them inside the canvas', () => {
    const steps = Array.from({ length: 30 }, (_, i) => ({
      name: `s${i}`,
      depends: i === 0 ? [] : [`s${Math.floor((i - 1) / 3)}`],
    }));
    const layout = layoutGraph(steps);
    for (const [i, a] of layout.nodes.entries()) {
      expect(a.x).toBeGreaterThanOrEqual(0);
      expect(a.y).toBeGreaterThanOrEqual(0);
      expect(a.x + a.width).toBeLessThanOrEqual(layout.width);
      expect(a.y + a.height).toBeLessThanOrEqual(layout.height);
      for (const b of layout.nodes.slice(i + 1)) expect(overlaps(a, b)).toBe(false);
    }
  });

  it('edges run from the right side of the source to the left side of the target', () => {
    const layout = layoutGraph([{ name: 'a' }, { name: 'b', depends: ['a'] }], {
      nodeWidth: 100,
      nodeHeight: 20,
      layerGap: 50,
      margin: 0,
    });
    expect(layout.edges[0]!.path).toBe('M100,10 C125,10 125,10 150,10');
    expect(layout.width).toBe(250);
    expect(layout.height).toBe(20);
  });

  it('orders a layer by its parents to avoid crossings', () => {
    // b2's parent is a1 (second in layer 0) and b1's is a0: b1 must come first.
    const layout = layoutGraph([
      { name: 'a0' },
      { name: 'a1' },
      { name: 'b2', depends: ['a1'] },
      { name: 'b1', depends: ['a0'] },
    ]);
    const order = Object.fromEntries(layout.nodes.map((node) => [node.name, node.order]));
    expect(order.b1).toBe(0);
    expect(order.b2).toBe(1);
  });

  it('ignores unknown and self dependencies and survives a cycle', () => {
    const layout = layoutGraph([
      { name: 'a', depends: ['ghost', 'a', 'c'] },
      { name: 'b', depends: ['a'] },
      { name: 'c', depends: ['b'] },
    ]);
    expect(layout.nodes).toHaveLength(3);
    expect(layout.edges.every((edge) => edge.from !== 'ghost')).toBe(true);
  });

  it('lays out nothing as an empty canvas', () => {
    expect(layoutGraph([])).toEqual({ nodes: [], edges: [], width: 0, height: 0 });
  });
});
