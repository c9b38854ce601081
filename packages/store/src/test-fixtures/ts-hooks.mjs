// Module hooks for child processes in the tests: load the package's TypeScript sources directly
// (transpiled with the workspace's `typescript`), as vitest does in-process. Used with
// `node --conditions=@dagu-ts/source --import ./register-ts.mjs script.mjs`.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    // Sources import each other as `./x.js`; the file on disk is `./x.ts`.
    if (context.parentURL?.endsWith('.ts') && /^\.\.?\/.*\.js$/.test(specifier))
      return nextResolve(`${specifier.slice(0, -3)}.ts`, context);
    throw error;
  }
}

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return nextLoad(url, context);
  const fileName = fileURLToPath(url);
  const output = ts.transpileModule(await readFile(fileName, 'utf8'), {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      inlineSourceMap: true,
    },
  });
  return { format: 'module', source: output.outputText, shortCircuit: true };
}
