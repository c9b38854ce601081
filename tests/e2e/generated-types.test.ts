// The api's and the client's src/generated/api.ts must both be what the one generator makes of
// the current OpenAPI document.
import { readFileSync } from 'node:fs';
import { openApiDocument } from '@dagu-ts/api';
import { expect, it } from 'vitest';
import { generateTypes, loadDocument, outputPaths } from '../../scripts/generate-api-types.mjs';

it('the generator reads the same document the api serves', async () => {
  expect(await loadDocument()).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
});

it('both committed copies of the generated types match the document (run `pnpm build` if not)', async () => {
  const fresh = await generateTypes(openApiDocument);
  for (const [pkg, file] of Object.entries(outputPaths)) {
    const committed = readFileSync(file, 'utf8');
    expect(committed.startsWith('// GENERATED FILE, DO NOT EDIT.'), pkg).toBe(true);
    // Compare line counts first: a readable message instead of a 2,000-line diff.
    expect(committed.split('\n').length, `${pkg}: src/generated/api.ts is stale`).toBe(
      fresh.split('\n').length,
    );
    expect(committed === fresh, `${pkg}: src/generated/api.ts is stale: run \`pnpm build\``).toBe(
      true,
    );
  }
});

it('has one operation per operationId of the document', () => {
  const ids = Object.values(openApiDocument.paths).flatMap((item) =>
    (['get', 'put', 'post', 'delete', 'patch'] as const)
      .map((method) => item[method]?.operationId)
      .filter((id): id is string => id !== undefined),
  );
  const committed = readFileSync(outputPaths.api, 'utf8');
  for (const id of ids) expect(committed).toContain(`  ${id}: {`);
  // The 29 of Part B, the document itself, Dagu v1.30.3's 21 additions (issue 19) and the 5
  // worker operations (issue 16).
  expect(ids).toHaveLength(30 + 21 + 5);
});
