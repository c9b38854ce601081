import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { dagNameProblem, DagNotFoundError, DaguError } from '@dagu-ts/core';
import { canonicalDagFileName, FileDagRepository } from './dag-repository.js';
import { MAX_SEARCH_PATTERN_LENGTH } from './dag-search.js';
import { tempDir } from './test-fixtures/helpers.js';

const work = tempDir('dagu-dags-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

let dir: string;
let dags: FileDagRepository;
beforeEach(() => {
  dir = join(tempDir('repo-', work), 'dags');
  dags = new FileDagRepository(dir);
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  );
}

const code = async (promise: Promise<unknown>) => ((await failure(promise)) as DaguError).code;

describe('file names', () => {
  const bad = [
    '',
    '.yaml',
    '../secret',
    '..',
    'a/b',
    '/etc/passwd',
    'a\\b',
    'a..b',
    '...',
    'nul\0byte',
    'line\nbreak',
    'x'.repeat(251),
  ];

  it('canonical form drops .yaml/.yml; unsafe names are bad_request', () => {
    expect(canonicalDagFileName('deploy')).toBe('deploy');
    expect(canonicalDagFileName('deploy.yaml')).toBe('deploy');
    expect(canonicalDagFileName('deploy.yml')).toBe('deploy');
    expect(canonicalDagFileName('x'.repeat(250))).toHaveLength(250);
    // One rule, core's, for file names and DAG names.
    for (const name of bad.map((n) => n.replace(/\.yaml$/, '')))
      expect(dagNameProblem(name), JSON.stringify(name)).toBeDefined();
    for (const name of bad) {
      expect(() => canonicalDagFileName(name), JSON.stringify(name)).toThrow(DaguError);
      try {
        canonicalDagFileName(name);
      } catch (error) {
        expect((error as DaguError).code).toBe('bad_request');
      }
    }
  });

  it('every method rejects path traversal before touching the disk', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, '..', 'outside.yaml'), 'steps: []\n');
    for (const name of bad) {
      expect(await code(dags.read(name))).toBe('bad_request');
      expect(await code(dags.create(name, 'x'))).toBe('bad_request');
      expect(await code(dags.update(name, 'x'))).toBe('bad_request');
      expect(await code(dags.delete(name))).toBe('bad_request');
      expect(await code(dags.rename(name, 'ok'))).toBe('bad_request');
      expect(() => dags.pathOf(name)).toThrow(DaguError);
    }
    writeFileSync(join(dir, 'ok.yaml'), 'steps: []\n');
    expect(await code(dags.rename('ok', '../outside'))).toBe('bad_request');
    expect(await code(dags.read('../outside'))).toBe('bad_request');
    expect(readdirSync(join(dir, '..')).sort()).toEqual(['dags', 'outside.yaml']);
  });
});

describe('FileDagRepository', () => {
  it('creates atomically (mode 0600, no temporary file left) and never overwrites', async () => {
    await dags.create('hello', 'steps:\n  - command: echo hi\n');
    expect(await dags.read('hello')).toBe('steps:\n  - command: echo hi\n');
    expect(await dags.read('hello.yaml')).toBe('steps:\n  - command: echo hi\n');
    expect(statSync(join(dir, 'hello.yaml')).mode & 0o777).toBe(0o600);
    expect(await code(dags.create('hello', 'other'))).toBe('already_exists');
    expect(await code(dags.create('hello.yaml', 'other'))).toBe('already_exists');
    writeFileSync(join(dir, 'legacy.yml'), 'steps: []\n');
    expect(await code(dags.create('legacy', 'other'))).toBe('already_exists');
    expect(await dags.read('hello')).toBe('steps:\n  - command: echo hi\n');
    expect(readdirSync(dir).sort()).toEqual(['hello.yaml', 'legacy.yml']);
  });

  it('concurrent creates of one name: exactly one wins', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => dags.create('race', `version ${i}\n`)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.every((r) => (r.reason as DaguError).code === 'already_exists')).toBe(true);
    expect(readdirSync(dir)).toEqual(['race.yaml']);
  });

  it('updates in place keeping the file mode and extension; missing files are DagNotFoundError', async () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'old.yml'), 'a: 1\n', { mode: 0o640 });
    await dags.update('old', 'a: 2\n');
    expect(await dags.read('old.yml')).toBe('a: 2\n');
    expect(statSync(join(dir, 'old.yml')).mode & 0o777).toBe(0o640);
    expect(readdirSync(dir)).toEqual(['old.yml']);
    for (const promise of [
      dags.read('missing'),
      dags.update('missing', 'x'),
      dags.delete('missing'),
      dags.rename('missing', 'other'),
    ])
      expect(await failure(promise)).toBeInstanceOf(DagNotFoundError);
  });

  it('renames without overwriting and deletes', async () => {
    await dags.create('one', '1\n');
    await dags.create('two', '2\n');
    expect(await code(dags.rename('one', 'two'))).toBe('already_exists');
    await dags.rename('one', 'three.yaml');
    expect(readdirSync(dir).sort()).toEqual(['three.yaml', 'two.yaml']);
    expect(await dags.read('three')).toBe('1\n');
    await dags.rename('three', 'three');
    await dags.delete('three');
    expect(readdirSync(dir)).toEqual(['two.yaml']);
    expect(dags.pathOf('two')).toBe(join(dir, 'two.yaml'));
    expect(dags.pathOf('new')).toBe(join(dir, 'new.yaml'));
  });

  it('lists top-level .yaml/.yml files only, by name, .yaml winning over .yml', async () => {
    expect(await dags.list()).toEqual([]);
    mkdirSync(join(dir, 'sub.yaml'), { recursive: true });
    writeFileSync(join(dir, 'sub.yaml', 'inner.yaml'), 'x');
    writeFileSync(join(dir, 'b.yml'), 'b');
    writeFileSync(join(dir, 'a.yaml'), 'aa');
    writeFileSync(join(dir, 'a.yml'), 'shadowed');
    writeFileSync(join(dir, 'notes.txt'), 'no');
    writeFileSync(join(dir, '.yaml'), 'no name');
    const files = await dags.list();
    expect(files.map((f) => [f.fileName, f.path, f.size])).toEqual([
      ['a', join(dir, 'a.yaml'), 2],
      ['b', join(dir, 'b.yml'), 1],
    ]);
    expect(Number.isNaN(Date.parse(files[0]!.modifiedAt))).toBe(false);
  });
});

describe('watch', () => {
  it('reports writes, renames and deletes until unwatched; a missing directory cannot be watched', async () => {
    expect(() => dags.watch(() => undefined)).toThrow();
    await dags.create('w', 'steps: []\n');
    let changes = 0;
    const unwatch = dags.watch(() => changes++);
    const changed = async (action: () => Promise<void>): Promise<void> => {
      const before = changes;
      await action();
      const deadline = Date.now() + 5_000;
      while (changes === before && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(changes).toBeGreaterThan(before);
    };
    await changed(() => dags.update('w', 'steps: [{name: a, command: "true"}]\n'));
    await changed(() => dags.rename('w', 'v'));
    await changed(() => dags.delete('v'));
    unwatch();
    const after = changes;
    await dags.create('u', 'steps: []\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(changes).toBe(after);
  });
});

describe('symbolic links (issue #11 item 9)', () => {
  const outside = () => join(dir, '..', 'secret.txt');
  beforeEach(() => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(outside(), 'root:x:0:0\n');
    symlinkSync(outside(), join(dir, 'passwd.yaml'));
    symlinkSync(join(dir, '..'), join(dir, 'up.yaml'));
    symlinkSync(join(dir, 'missing-target'), join(dir, 'dangling.yaml'));
    writeFileSync(join(dir, 'real.yaml'), 'steps: []\n');
    symlinkSync('real.yaml', join(dir, 'alias.yaml'));
  });

  it('lists and searches only links that stay inside the directory', async () => {
    expect((await dags.list()).map((f) => f.fileName)).toEqual(['alias', 'real']);
    expect((await dags.search('root|steps')).map((m) => m.fileName)).toEqual(['alias', 'real']);
  });

  it('refuses every operation on a link that leaves the directory, touching nothing', async () => {
    for (const name of ['passwd', 'passwd.yaml', 'dangling']) {
      for (const operation of [
        () => dags.read(name),
        () => dags.create(name, 'x'),
        () => dags.update(name, 'x'),
        () => dags.delete(name),
        () => dags.rename(name, 'other'),
        () => dags.rename('real', name),
      ]) {
        const error = (await failure(operation())) as DaguError;
        expect(error.code).toBe('bad_request');
        expect(error.message).toMatch(/is a symbolic link that leaves the DAGs directory/);
      }
      expect(() => dags.pathOf(name)).toThrow(/symbolic link/);
    }
    expect(readFileSync(outside(), 'utf8')).toBe('root:x:0:0\n');
    expect(readdirSync(dir).sort()).toEqual([
      'alias.yaml',
      'dangling.yaml',
      'passwd.yaml',
      'real.yaml',
      'up.yaml',
    ]);
  });

  it('a link inside the directory works as its target', async () => {
    expect(await dags.read('alias')).toBe('steps: []\n');
  });
});

describe('search', () => {
  const yaml = [
    'name: deploy', // 1
    'steps:', // 2
    '  - name: build', // 3
    '    command: make build', // 4
    '  - name: ship', // 5
    '    command: ./ship.sh --prod', // 6
    '    depends: build', // 7
  ].join('\n');

  beforeEach(async () => {
    await dags.create('deploy', `${yaml}\n`);
    await dags.create('other', 'steps:\n  - command: echo BUILD\n');
    await dags.create('quiet', 'steps:\n  - command: "true"\n');
  });

  it('returns line numbers and 5-line snippets (2 before, 2 after), case-insensitively', async () => {
    const results = await dags.search('build');
    expect(results.map((r) => r.fileName)).toEqual(['deploy', 'other']);
    const deploy = results[0]!;
    expect(deploy.matches.map((m) => [m.line, m.startLine, m.lineText])).toEqual([
      [3, 1, '  - name: build'],
      [4, 2, '    command: make build'],
      [7, 5, '    depends: build'],
    ]);
    expect(deploy.matches[0]!.snippet).toBe(
      'name: deploy\nsteps:\n  - name: build\n    command: make build\n  - name: ship',
    );
    expect(deploy.matches[2]!.snippet).toBe(
      '  - name: ship\n    command: ./ship.sh --prod\n    depends: build',
    );
    expect(results[1]!.matches).toEqual([
      {
        line: 2,
        startLine: 1,
        lineText: '  - command: echo BUILD',
        snippet: 'steps:\n  - command: echo BUILD',
      },
    ]);
  });

  it('takes RE2 syntax, a limit on files, and rejects invalid or oversized patterns', async () => {
    expect((await dags.search('ship\\.sh\\s+--prod$'))[0]!.matches[0]!.line).toBe(6);
    expect(await dags.search('^steps:$', { limit: 2 })).toHaveLength(2);
    expect(await dags.search('nothing matches this')).toEqual([]);
    expect(await code(dags.search('(unclosed'))).toBe('bad_request');
    expect(await code(dags.search('(?=lookahead)'))).toBe('bad_request');
    expect(await code(dags.search(''))).toBe('bad_request');
    expect(await code(dags.search('a'.repeat(MAX_SEARCH_PATTERN_LENGTH + 1)))).toBe('bad_request');
  });

  it('a catastrophic-backtracking pattern still returns promptly', async () => {
    const line = `${'a'.repeat(50_000)}!`;
    await dags.create('evil', `steps:\n  - command: echo ${line}\n`.repeat(20));
    const started = performance.now();
    const results = await dags.search('(a+)+$');
    const nested = await dags.search('^(([a-z])+.)+[A-Z]([a-z])+$');
    const elapsed = performance.now() - started;
    expect(results.find((r) => r.fileName === 'evil')).toBeUndefined();
    expect(nested.map((r) => r.fileName)).not.toContain('evil');
    expect(elapsed).toBeLessThan(5_000);
    // The native engine would need ~2^50000 steps per line here.
    expect(existsSync(join(dir, 'evil.yaml'))).toBe(true);
  });
});
