// src/generated/api.ts must be what the generator makes of the current OpenAPI document.
import { readFileSync } from 'node:fs';
import { openApiDocument } from '@dagu-ts/api';
import { expect, it } from 'vitest';
import { generateTypes, outputPath } from '../scripts/generate-types.mjs';

it('the committed generated types match the OpenAPI document (run `pnpm build` if not)', async () => {
  const fresh = await generateTypes(openApiDocument);
  const committed = readFileSync(outputPath, 'utf8');
  expect(committed.startsWith('// GENERATED FILE, DO NOT EDIT.')).toBe(true);
  // Compare line counts first: a readable message instead of a 2,000-line diff.
  expect(committed.split('\n').length, 'src/generated/api.ts is stale').toBe(
    fresh.split('\n').length,
  );
  expect(committed === fresh, 'src/generated/api.ts is stale: run `pnpm build`').toBe(true);
});

it('has one operation per operationId of the document', async () => {
  const ids = Object.values(openApiDocument.paths).flatMap((item) =>
    (['get', 'put', 'post', 'delete', 'patch'] as const)
      .map((method) => item[method]?.operationId)
      .filter((id): id is string => id !== undefined),
  );
  const committed = readFileSync(outputPath, 'utf8');
  for (const id of ids) expect(committed).toContain(`  ${id}: {`);
  expect(ids).toHaveLength(30);
});
