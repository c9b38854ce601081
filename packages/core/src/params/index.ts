export type { ParamsDefinition, ParamEntry } from './types.js';
export { tokenizeParamString } from './tokenize.js';
export type { ParamToken } from './tokenize.js';
export { formatParamsList, quoteParamsForChild } from './format.js';
export { resolveParams } from './resolve.js';
export type { ResolveParamsOptions, ParamsOverrides, ResolvedParams } from './resolve.js';
export { paramsText } from './json.js';
