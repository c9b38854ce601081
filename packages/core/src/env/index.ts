export { evaluateEnvEntries } from './evaluate-env.js';
export type { EnvEntry } from './evaluate-env.js';
export { loadDotenvFiles } from './dotenv.js';
export type { LoadDotenvOptions } from './dotenv.js';
export { isServerSecret, scrubServerSecrets } from './server-secrets.js';
