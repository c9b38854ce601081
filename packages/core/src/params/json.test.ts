// The params string of the API and the CLI's -p: Dagu text, or a JSON object of named params.
import { describe, expect, it } from 'vitest';
import { paramsText } from './json.js';

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
