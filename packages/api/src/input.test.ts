// Request input helpers: params (Part A #6) and names (Part A #3).
import { describe, expect, it } from 'vitest';
import { apiPrefix } from './app.js';
import { canonicalFileName, paramsText } from './input.js';

describe('paramsText', () => {
  it('passes Dagu parameter strings through', () => {
    expect(paramsText('A=1 B="two words" positional')).toBe('A=1 B="two words" positional');
    expect(paramsText(undefined)).toBeUndefined();
    expect(paramsText('   ')).toBeUndefined();
  });

  it('turns a JSON object string into named parameters, quoted', () => {
    expect(paramsText('{"env": "production"}')).toBe('env="production"');
    expect(paramsText('{"version": "v1.2.3", "environment": "prod"}')).toBe(
      'version="v1.2.3" environment="prod"',
    );
    expect(paramsText('{"n": 3, "ok": true, "nothing": null, "list": [1,2]}')).toBe(
      'n="3" ok="true" nothing="" list="[1,2]"',
    );
    expect(paramsText('{"q": "say \\"hi\\""}')).toBe('q="say \\"hi\\""');
    expect(paramsText('{}')).toBeUndefined();
  });

  it('refuses JSON keys that cannot be parameter names', () => {
    expect(() => paramsText('{"a b": "x"}')).toThrow(/invalid parameter name/);
    expect(() => paramsText('{"A=B": "x"}')).toThrow(/invalid parameter name/);
  });

  it('leaves strings that only look like JSON alone', () => {
    expect(paramsText('{not json}')).toBe('{not json}');
    expect(paramsText('[1,2]')).toBe('[1,2]');
  });
});

describe('canonicalFileName', () => {
  it('strips .yaml/.yml and refuses traversal', () => {
    expect(canonicalFileName('a.yaml')).toBe('a');
    expect(canonicalFileName('a.yml')).toBe('a');
    expect(canonicalFileName('a.b')).toBe('a.b');
    for (const bad of ['', '.yaml', '../a', 'a/b', 'a\\b', 'a\0b', '...', 'x..y'])
      expect(() => canonicalFileName(bad), JSON.stringify(bad)).toThrow();
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
