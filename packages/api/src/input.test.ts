// Request input helpers: names (api-v2.md Part A #3). Unsafe names are refused earlier, by the
// request validator compiled from the document (validate.test.ts).
import { describe, expect, it } from 'vitest';
import { apiPrefix } from './app.js';
import { canonicalFileName } from './input.js';

describe('canonicalFileName', () => {
  it('strips .yaml/.yml and refuses a name that is only an extension', () => {
    expect(canonicalFileName('a.yaml')).toBe('a');
    expect(canonicalFileName('a.yml')).toBe('a');
    expect(canonicalFileName('a.b')).toBe('a.b');
    for (const bad of ['', '.yaml', '.yml'])
      expect(() => canonicalFileName(bad), JSON.stringify(bad)).toThrow(/fileName is empty/);
  });
});

describe('apiPrefix', () => {
  it('puts the base path in front of /api/v2', () => {
    expect(apiPrefix()).toBe('/api/v2');
    expect(apiPrefix('/')).toBe('/api/v2');
    expect(apiPrefix('/dagu/')).toBe('/dagu/api/v2');
    expect(apiPrefix('dagu')).toBe('/dagu/api/v2');
  });
});
