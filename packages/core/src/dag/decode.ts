// Small typed readers over the YAML tree that collect problems instead of throwing, so that a
// DAG file with several mistakes reports all of them at once.
import type { ValidationIssue } from '../errors.js';
import type { ScalarValue, YamlEntry, YamlNode } from './yaml-tree.js';

export class Issues {
  readonly list: ValidationIssue[] = [];
  add(path: string, line: number, message: string): void {
    this.list.push({ path, line, message });
  }
}

export function describeKind(node: YamlNode): string {
  if (node.kind === 'map') return 'a map';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'null';
  return typeof node.value === 'string' ? 'a string' : `a ${typeof node.value}`;
}

/**
 * The keys of a strict map (DAG, step, policy…). Keys match case-insensitively, as in Dagu;
 * any key outside `allowed` is reported with its path and line.
 */
export class Fields {
  private readonly byKey = new Map<string, YamlEntry>();

  constructor(
    readonly node: YamlNode & { kind: 'map' },
    readonly path: string,
    readonly issues: Issues,
    allowed: readonly string[],
  ) {
    const canonical = new Map(allowed.map((key) => [key.toLowerCase(), key]));
    for (const entry of node.entries) {
      const key = canonical.get(entry.key.toLowerCase());
      if (key === undefined) {
        issues.add(this.pathOf(entry.key), entry.line, `unknown key "${entry.key}"`);
      } else if (this.byKey.has(key)) {
        issues.add(this.pathOf(entry.key), entry.line, `duplicate key "${entry.key}"`);
      } else {
        this.byKey.set(key, entry);
      }
    }
  }

  pathOf(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** The entry for `key`, or undefined when absent or null (`key:` with no value). */
  get(key: string): YamlEntry | undefined {
    const entry = this.byKey.get(key);
    if (!entry || (entry.value.kind === 'scalar' && entry.value.value === null)) return undefined;
    return entry;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  string(key: string): string | undefined {
    const entry = this.get(key);
    if (!entry) return undefined;
    if (entry.value.kind === 'scalar' && typeof entry.value.value === 'string')
      return entry.value.value;
    return this.typeError(entry, key, 'a string');
  }

  /** Integer fields: floats are truncated (as Go does); strings and other shapes are errors. */
  int(key: string): number | undefined {
    const entry = this.get(key);
    if (!entry) return undefined;
    if (
      entry.value.kind === 'scalar' &&
      typeof entry.value.value === 'number' &&
      Number.isFinite(entry.value.value)
    ) {
      return Math.trunc(entry.value.value);
    }
    return this.typeError(entry, key, 'an integer');
  }

  number(key: string): number | undefined {
    const entry = this.get(key);
    if (!entry) return undefined;
    if (
      entry.value.kind === 'scalar' &&
      typeof entry.value.value === 'number' &&
      Number.isFinite(entry.value.value)
    ) {
      return entry.value.value;
    }
    return this.typeError(entry, key, 'a number');
  }

  bool(key: string): boolean | undefined {
    const entry = this.get(key);
    if (!entry) return undefined;
    if (entry.value.kind === 'scalar' && typeof entry.value.value === 'boolean')
      return entry.value.value;
    return this.typeError(entry, key, 'true or false');
  }

  map(key: string): (YamlNode & { kind: 'map' }) | undefined {
    const entry = this.get(key);
    if (!entry) return undefined;
    if (entry.value.kind === 'map') return entry.value;
    return this.typeError(entry, key, 'a map');
  }

  /** A list of scalars (numbers and booleans stringified), or a single scalar as a one-item list. */
  stringList(key: string): string[] | undefined {
    const entry = this.get(key);
    if (!entry) return undefined;
    return scalarList(entry.value, this.pathOf(key), this.issues);
  }

  intList(key: string): number[] | undefined {
    const entry = this.get(key);
    if (!entry) return undefined;
    const items = entry.value.kind === 'seq' ? entry.value.items : [entry.value];
    const result: number[] = [];
    for (const item of items) {
      if (
        item.kind === 'scalar' &&
        typeof item.value === 'number' &&
        Number.isInteger(item.value)
      ) {
        result.push(item.value);
      } else {
        this.issues.add(
          this.pathOf(key),
          item.line,
          `must be an integer or a list of integers, got ${describeKind(item)}`,
        );
      }
    }
    return result;
  }

  private typeError(entry: YamlEntry, key: string, expected: string): undefined {
    this.issues.add(
      this.pathOf(key),
      entry.line,
      `must be ${expected}, got ${describeKind(entry.value)}`,
    );
    return undefined;
  }
}

/** Reads a map node strictly, or reports that a map was expected. */
export function readFields(
  node: YamlNode,
  path: string,
  issues: Issues,
  allowed: readonly string[],
): Fields | undefined {
  if (node.kind !== 'map') {
    issues.add(path, node.line, `must be a map, got ${describeKind(node)}`);
    return undefined;
  }
  return new Fields(node, path, issues, allowed);
}

/** Go's %v for the scalar values YAML produces. */
export function scalarToString(value: ScalarValue): string {
  if (value === null) return '';
  return String(value);
}

export function scalarList(node: YamlNode, path: string, issues: Issues): string[] {
  const items = node.kind === 'seq' ? node.items : [node];
  const result: string[] = [];
  for (const item of items) {
    if (item.kind === 'scalar') {
      if (item.value !== null) result.push(scalarToString(item.value));
    } else {
      issues.add(
        path,
        item.line,
        `must be a string or a list of strings, got ${describeKind(item)}`,
      );
    }
  }
  return result;
}
