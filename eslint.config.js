import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const importTs = importX.flatConfigs.typescript;
const tsFiles = ['**/*.{ts,tsx,mts,cts}'];
const jsFiles = ['**/*.{js,mjs,cjs}'];

// The dependency rules of ARCHITECTURE.md ("Packages and the direction of imports"). A package is
// imported only through its public entry: `@dagu-ts/<name>`, never `@dagu-ts/<name>/src/...`, and
// never by a relative path into another package's folder (import-x/no-relative-packages). A
// package's declared subpath entries are public too (light or optional parts loaded apart).
const publicSubpaths = ['store/postgres', 'api/run-views'];
const deepImport = {
  regex: `^@dagu-ts/(?!(${publicSubpaths.join('|')})$)[^/]+/(?!package\\.json$)`,
  message: "Import another package through its public entry ('@dagu-ts/<name>'), not a deep path.",
};
const onlyImports = (allowed, rule) => ({
  regex: allowed.length ? `^@dagu-ts/(?!(${allowed.join('|')})(/|$))` : '^@dagu-ts/',
  message: `${rule} (ARCHITECTURE.md, "Packages and the direction of imports").`,
});
// Test support (harnesses, fixtures, the OpenAPI response validator) lives in the private,
// never-published @dagu-ts/testing (packages/testing): test files import it, shipped source never.
const testFiles = ['**/*.test.ts', '**/*.test-d.ts'];
const testSupport = {
  regex: '^@dagu-ts/testing(/|$)',
  message: '@dagu-ts/testing is test support: only test files (*.test.ts) import it.',
};
// Forbids the patterns (and deep imports) in static imports and in `import('...')`, which
// no-restricted-imports does not see.
const restrict = (patterns) => ({
  'no-restricted-imports': ['error', { patterns: [...patterns, deepImport] }],
  'no-restricted-syntax': [
    'error',
    ...patterns.map(({ regex, message }) => ({
      // esquery's regex literal cannot contain "/": \x2F stands for it.
      selector: `ImportExpression[source.value=/${regex.replaceAll('/', '\\x2F')}/]`,
      message,
    })),
  ],
});
// The boundary holds for a package's shipped source; its tests may compose packages (through
// their public entries) and import @dagu-ts/testing.
const boundary = (pkg, allowed, rule) => ({
  files: [`packages/${pkg}/src/**/*.{ts,tsx,mts,cts,js,mjs,cjs}`],
  ignores: testFiles,
  rules: restrict([onlyImports(allowed, rule)]),
});

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'off',
    },
  },
  {
    files: ['packages/{core,store,api,client}/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-console': 'error' },
  },

  // Type-aware rules. TypeScript files are typed by tsconfig.test.json, the one program that
  // covers every package's and app's src (tests and test wiring included), tests/ and bench/;
  // the JavaScript entry points (bench/, scripts/, packages/*/scripts, .mjs test fixtures) by
  // tsconfig.scripts.json. An app with its own compiler options (apps/web: DOM, JSX) is typed
  // by its own tsconfig below. A file in none of them fails to parse: add it to one.
  {
    files: [...tsFiles, ...jsFiles],
    languageOptions: {
      parserOptions: {
        project: ['./tsconfig.test.json', './tsconfig.scripts.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // `void` marks a promise as ignored but does not handle its rejection, which ends a Node
      // process: a promise that is not awaited needs a `.catch` (or a rejection handler).
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      '@typescript-eslint/no-misused-promises': 'error',
    },
  },
  {
    files: ['apps/web/**/*.{ts,tsx,mts,cts}'],
    languageOptions: {
      globals: { ...globals.browser },
      parserOptions: { project: ['./apps/web/tsconfig.json'] },
    },
  },

  // Import cycles and cross-package relative imports, resolved the way TypeScript and the tests
  // resolve them (the "@dagu-ts/source" condition points a workspace package at its src/).
  {
    files: [...tsFiles, ...jsFiles],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': importTs.settings['import-x/extensions'],
      'import-x/external-module-folders': importTs.settings['import-x/external-module-folders'],
      'import-x/parsers': importTs.settings['import-x/parsers'],
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['tsconfig.test.json', 'apps/*/tsconfig.json'],
          conditionNames: ['@dagu-ts/source', 'types', 'import', 'node', 'default'],
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
  },
  {
    files: [...tsFiles, ...jsFiles],
    // Tests, benches and scripts are leaves of the import graph (no source file imports them),
    // so they are skipped to keep lint fast: the cycles of what they import are found there.
    ignores: ['**/*.test.ts', '**/*.test-d.ts', 'tests/**', 'bench/**', 'scripts/**'],
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['packages/**', 'apps/**', 'tests/**'],
    rules: { 'import-x/no-relative-packages': 'error' },
  },

  // Boundaries: core imports no other package of ours; store and api import only core; client
  // imports nothing of ours; apps and cli compose (public entries only); only tests import
  // @dagu-ts/testing.
  {
    files: [...tsFiles, ...jsFiles],
    rules: { 'no-restricted-imports': ['error', { patterns: [deepImport] }] },
  },
  {
    files: ['{packages,apps}/*/src/**/*.{ts,tsx,mts,cts,js,mjs,cjs}'],
    ignores: [...testFiles, 'packages/testing/**'],
    rules: restrict([testSupport]),
  },
  boundary('core', [], 'core imports no other @dagu-ts package'),
  boundary('store', ['core'], 'store imports only @dagu-ts/core'),
  boundary('api', ['core'], 'api imports only @dagu-ts/core'),
  boundary('client', [], 'client imports no other @dagu-ts package'),
);
