// Parses YAML text into a small tree that keeps what the validator needs and plain JS objects
// lose: the document order of map keys (`"7"` stays after `zulu`) and the line of every node.
// Safe by construction: the core schema only (no custom tags, no code), bounded alias expansion
// and nesting depth. Linear in the text and the expanded size: the parser's duplicate-key check
// compares each key with every earlier key of its map and its Alias.resolve walks the whole
// document for every alias, so both are done here with maps instead (as are merge keys).
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  visit,
  type Document,
  type Node as YamlAstNode,
} from 'yaml';
import type { ValidationIssue } from '../errors.js';

export type ScalarValue = string | number | boolean | null;

export type YamlNode =
  | { kind: 'map'; line: number; entries: YamlEntry[] }
  | { kind: 'seq'; line: number; items: YamlNode[] }
  | { kind: 'scalar'; line: number; value: ScalarValue };

export interface YamlEntry {
  key: string;
  line: number;
  value: YamlNode;
}

const MAX_DEPTH = 64;
/** Upper bound on nodes after alias expansion: stops "billion laughs" documents. */
const MAX_EXPANDED_NODES = 100_000;

export class YamlSyntaxError extends Error {
  readonly issues: ValidationIssue[];
  constructor(issues: ValidationIssue[]) {
    super(issues.map((i) => i.message).join('; '));
    this.issues = issues;
  }
}

/** Parses every non-empty document of `text`. Throws YamlSyntaxError with line numbers. */
export function parseYamlDocuments(text: string): YamlNode[] {
  if (text.includes('\u0000')) {
    throw new YamlSyntaxError([
      { path: '', line: 0, message: 'not a YAML text file (contains NUL bytes)' },
    ]);
  }
  const lineCounter = new LineCounter();
  let documents: Document.Parsed[];
  try {
    documents = parseAllDocuments(text, {
      schema: 'core',
      merge: true,
      // Checked in Converter.build: the parser's check is quadratic in the number of keys.
      uniqueKeys: false,
      strict: true,
      prettyErrors: false,
      lineCounter,
    }) as Document.Parsed[];
  } catch (error) {
    throw new YamlSyntaxError([{ path: '', line: 0, message: describeThrown(error) }]);
  }
  if (!Array.isArray(documents)) return [];
  const nodes: YamlNode[] = [];
  for (const document of documents) {
    if (document.errors.length > 0) {
      throw new YamlSyntaxError(
        document.errors.map((error) => ({
          path: '',
          line: lineCounter.linePos(error.pos[0]).line,
          message: `invalid YAML: ${firstLine(error.message)}`,
        })),
      );
    }
    if (document.contents === null) continue;
    const converter = new Converter(document, lineCounter);
    const node = converter.convert(document.contents, 0);
    if (node.kind === 'scalar' && node.value === null) continue;
    nodes.push(node);
  }
  return nodes;
}

class Converter {
  private readonly done = new Map<YamlAstNode, { node: YamlNode; size: number }>();
  /** Each alias's node: the last node before it with that anchor (YAML 1.2 §3.2.2.2). */
  private readonly targets = new Map<unknown, unknown>();
  constructor(
    document: Document.Parsed,
    private readonly lines: LineCounter,
  ) {
    // One walk in document order instead of yaml's Alias.resolve, which walks the whole
    // document again for every alias.
    const anchors = new Map<string, unknown>();
    visit(document, {
      Node: (_key, node) => {
        if (isAlias(node)) this.targets.set(node, anchors.get(node.source));
        else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
  }

  convert(ast: unknown, depth: number): YamlNode {
    return this.visit(ast, depth).node;
  }

  private visit(ast: unknown, depth: number): { node: YamlNode; size: number } {
    if (depth > MAX_DEPTH) {
      throw new YamlSyntaxError([
        {
          path: '',
          line: this.lineOf(ast),
          message: `YAML nested deeper than ${MAX_DEPTH} levels`,
        },
      ]);
    }
    if (isAlias(ast)) return this.visit(this.targets.get(ast), depth + 1);
    const cached = this.done.get(ast as YamlAstNode);
    if (cached) return cached;
    const result = this.build(ast, depth);
    if (result.size > MAX_EXPANDED_NODES) throw this.tooLarge(ast);
    this.done.set(ast as YamlAstNode, result);
    return result;
  }

  private tooLarge(ast: unknown): YamlSyntaxError {
    return new YamlSyntaxError([
      {
        path: '',
        line: this.lineOf(ast),
        message: `YAML aliases and merge keys expand to too many nodes (more than ${MAX_EXPANDED_NODES})`,
      },
    ]);
  }

  /** Keys of a map must be unique (`<<` included), as the parser's `uniqueKeys` would say. */
  private claimKey(seen: Set<string>, key: string, keyNode: unknown): void {
    if (seen.has(key)) {
      throw new YamlSyntaxError([
        {
          path: '',
          line: this.lineOf(keyNode),
          message: `invalid YAML: map keys must be unique ("${key}" is repeated)`,
        },
      ]);
    }
    seen.add(key);
  }

  private build(ast: unknown, depth: number): { node: YamlNode; size: number } {
    const line = this.lineOf(ast);
    if (isMap(ast)) {
      const entries: YamlEntry[] = [];
      /** Index in `entries` by key; `explicit` holds the keys the map sets itself. */
      const indexOf = new Map<string, number>();
      const explicit = new Set<string>();
      let size = 1;
      for (const pair of ast.items) {
        if (!isPair(pair)) continue;
        const keyNode = pair.key;
        if (isScalar(keyNode) && isMergeKey(keyNode.value) && isMergeSource(pair.value)) {
          this.claimKey(explicit, '<<', keyNode);
          // A merge key: the merged map's entries come in unless the map sets them itself.
          const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
          for (const source of sources) {
            const merged = this.visit(source, depth + 1);
            size += merged.size;
            if (size > MAX_EXPANDED_NODES) throw this.tooLarge(ast);
            if (merged.node.kind !== 'map') continue;
            for (const entry of merged.node.entries) {
              if (indexOf.has(entry.key)) continue;
              indexOf.set(entry.key, entries.length);
              entries.push(entry);
            }
          }
          continue;
        }
        if (!isScalar(keyNode)) {
          throw new YamlSyntaxError([
            { path: '', line: this.lineOf(keyNode), message: 'map keys must be scalars' },
          ]);
        }
        const key = String(keyNode.value);
        this.claimKey(explicit, key, keyNode);
        const value = this.visit(pair.value ?? null, depth + 1);
        size += value.size;
        if (size > MAX_EXPANDED_NODES) throw this.tooLarge(ast);
        const entry = { key, line: this.lineOf(keyNode), value: value.node };
        // A key the map sets itself replaces a merged one in place.
        const index = indexOf.get(key);
        if (index !== undefined) entries[index] = entry;
        else {
          indexOf.set(key, entries.length);
          entries.push(entry);
        }
      }
      return { node: { kind: 'map', line, entries }, size };
    }
    if (isSeq(ast)) {
      const items: YamlNode[] = [];
      let size = 1;
      for (const item of ast.items) {
        const converted = this.visit(item, depth + 1);
        size += converted.size;
        items.push(converted.node);
      }
      return { node: { kind: 'seq', line, items }, size };
    }
    if (isScalar(ast))
      return { node: { kind: 'scalar', line, value: toScalarValue(ast.value) }, size: 1 };
    return { node: { kind: 'scalar', line, value: null }, size: 1 };
  }

  private lineOf(ast: unknown): number {
    const range = (ast as { range?: [number, number, number] } | null)?.range;
    return range ? this.lines.linePos(range[0]).line : 0;
  }
}

/** With `merge: true` the parser marks `<<` keys with a symbol. */
function isMergeKey(value: unknown): boolean {
  return value === '<<' || typeof value === 'symbol';
}

function isMergeSource(value: unknown): boolean {
  return (
    isAlias(value) ||
    isMap(value) ||
    (isSeq(value) && value.items.every((i) => isAlias(i) || isMap(i)))
  );
}

function toScalarValue(value: unknown): ScalarValue {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return String(value);
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function describeThrown(error: unknown): string {
  if (error instanceof RangeError) return 'YAML nested too deeply';
  return error instanceof Error ? `invalid YAML: ${firstLine(error.message)}` : 'invalid YAML';
}

/** Converts a node into plain JS data (map order kept by insertion; used for free-form values). */
export function toPlain(node: YamlNode): unknown {
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map': {
      const result: Record<string, unknown> = {};
      for (const entry of node.entries) result[entry.key] = toPlain(entry.value);
      return result;
    }
  }
}
