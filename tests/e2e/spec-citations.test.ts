// Comments cite the specs in docs/spec (see docs/spec/README.md): `dag-yaml.md §4.2`,
// `api-v2.md Part A #7`, or a bare `§4.2` / `Part A #7` that refers to the spec named last before
// it in the same file. Every cited section and Part A item must exist in that spec.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

const specDir = join(repoRoot, 'docs', 'spec');

/** Names by which sources refer to a spec ("REST API v2" is api-v2.md's title). */
const specNames: Record<string, string> = {
  'api-v2.md': 'api-v2.md',
  'dag-yaml.md': 'dag-yaml.md',
  'cli-and-sdk.md': 'cli-and-sdk.md',
  'REST API v2': 'api-v2.md',
};

interface Spec {
  /** Numbered headings: `0`, `4`, `4.2`, … */
  sections: Set<string>;
  /** Numbered items of Part A: `1`, `14b`, … */
  partA: Set<string>;
}

function readSpec(file: string): Spec {
  const sections = new Set<string>();
  const partA = new Set<string>();
  let inPartA = false;
  for (const line of readFileSync(join(specDir, file), 'utf8').split('\n')) {
    if (line.startsWith('## ')) inPartA = line.startsWith('## Part A');
    const heading = /^#{2,4} (\d+(?:\.\d+)*)\.? /.exec(line);
    if (heading) sections.add(heading[1]!);
    const item = inPartA ? /^(\d+[a-z]?)\. /.exec(line) : null;
    if (item) partA.add(item[1]!);
  }
  return { sections, partA };
}

const specs = new Map(
  [...new Set(Object.values(specNames))].map((file) => [file, readSpec(file)] as const),
);

/** Source files and READMEs of the packages and apps, the e2e tests and the benchmarks. */
function sourceFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist', 'generated'].includes(entry.name)) walk(path);
      } else if (/\.(ts|tsx|mjs|js)$/.test(entry.name) || entry.name === 'README.md') {
        files.push(path);
      }
    }
  };
  for (const group of ['packages', 'apps'])
    for (const entry of readdirSync(join(repoRoot, group), { withFileTypes: true }))
      if (entry.isDirectory()) walk(join(repoRoot, group, entry.name));
  for (const dir of ['tests/e2e', 'bench', 'scripts']) walk(join(repoRoot, dir));
  files.push(join(repoRoot, 'README.md'), join(repoRoot, 'ARCHITECTURE.md'));
  // This file's own examples cite sections that do not exist on purpose.
  return files.filter((file) => !file.endsWith('spec-citations.test.ts'));
}

interface Citation {
  file: string;
  line: number;
  text: string;
  spec: string | undefined;
  problem: string | undefined;
}

const names = Object.keys(specNames)
  .map((name) => name.replace(/[.]/g, '\\.'))
  .join('|');
// A spec name, a section (`§4.2`, not `YAML 1.2 §3.2.2.2`), or Part A with its items
// (`Part A #8–#10`, `Part A #3, #4, #7`, `Part A #6 and #11`, `Part A item 9`).
const token = new RegExp(
  `(${names})|(?<!YAML 1\\.2 )§(\\d+(?:\\.\\d+)*)|Part A\\b((?:(?:\\s*(?:,|and|–|-)\\s*|\\s+)(?:#|item )\\d+[a-z]?)*)`,
  'g',
);

/**
 * Until the executor refactor of core's run/ and exec/ lands, bare citations there (child.ts,
 * runner.test.ts) mean dag-yaml.md, the engine's spec. Name the spec in new comments instead.
 */
const defaultSpec = (file: string): string | undefined =>
  /^packages\/core\/src\/(run|exec)\//.test(file) ? 'dag-yaml.md' : undefined;

function citationsOf(file: string, text: string): Citation[] {
  const found: Citation[] = [];
  let current = defaultSpec(file);
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  for (const match of text.matchAll(token)) {
    if (match[1]) {
      current = specNames[match[1]];
      continue;
    }
    const cite = (problem: string | undefined) =>
      found.push({ file, line: lineOf(match.index), text: match[0], spec: current, problem });
    const spec = current ? specs.get(current) : undefined;
    if (!spec) {
      cite('no spec named before it in this file');
    } else if (match[2] !== undefined) {
      cite(spec.sections.has(match[2]) ? undefined : `${current} has no section ${match[2]}`);
    } else {
      const items = [...(match[3] ?? '').matchAll(/\d+[a-z]?/g)].map((m) => m[0]);
      const missing = items.filter((item) => !spec.partA.has(item));
      cite(missing.length ? `${current} Part A has no item ${missing.join(', ')}` : undefined);
    }
  }
  return found;
}

describe('spec citations', () => {
  it('finds the headings and Part A items of the specs', () => {
    const dagYaml = specs.get('dag-yaml.md')!;
    const apiV2 = specs.get('api-v2.md')!;
    expect([...['0', '4', '4.2', '5.3'].filter((s) => !dagYaml.sections.has(s))]).toEqual([]);
    expect(dagYaml.sections.has('8')).toBe(false);
    expect(['1', '12'].every((i) => dagYaml.partA.has(i))).toBe(true);
    expect(['1', '14', '14b', '15'].every((i) => apiV2.partA.has(i))).toBe(true);
    expect(apiV2.partA.has('16')).toBe(false);
  });

  it('reads bare citations against the spec named last before them', () => {
    const text =
      '// dag-yaml.md §4.2 and Part A #3, #13\n// api-v2.md §1.4, §99, YAML 1.2 §3.2.2.2';
    expect(citationsOf('x.ts', text).map((c) => [c.text, c.spec, c.problem])).toEqual([
      ['§4.2', 'dag-yaml.md', undefined],
      ['Part A #3, #13', 'dag-yaml.md', 'dag-yaml.md Part A has no item 13'],
      ['§1.4', 'api-v2.md', undefined],
      ['§99', 'api-v2.md', 'api-v2.md has no section 99'],
    ]);
    expect(citationsOf('y.ts', '// see §2')[0]?.problem).toBe(
      'no spec named before it in this file',
    );
  });

  it('every citation in the sources resolves to a section of docs/spec', () => {
    const all = sourceFiles().flatMap((file) => {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        return []; // ARCHITECTURE.md may not exist yet
      }
      return citationsOf(relative(repoRoot, file), text);
    });
    if (process.env.LIST_CITATIONS)
      for (const c of all)
        console.log(`${c.file}:${c.line}\t${c.spec}\t${c.text}\t${c.problem ?? ''}`);
    expect(all.length).toBeGreaterThan(100);
    expect(
      all.filter((c) => c.problem).map((c) => `${c.file}:${c.line}: ${c.text}: ${c.problem}`),
    ).toEqual([]);
  });
});
