// @dagu-ts/server as a library: the one configuration loader and the one composition that the
// server program, the `dagu-ts` command and the test harnesses share, and the server process
// itself (`serve`). Importing it loads neither Express nor the API: composeDagu loads
// @dagu-ts/api only when it is asked for the API.
export {
  authMethods,
  ConfigError,
  CONFIG_FILE_NAME,
  DEFAULT_HOST,
  DEFAULT_PORT,
  DEFAULT_SHUTDOWN_GRACE_SEC,
  loadConfig,
  parseServerArgs,
  USAGE,
} from './config.js';
export type { LoadConfigInput, ServerConfig, ServerFlags } from './config.js';
export { composeDagu, openStoreFor } from './compose.js';
export type { ApiApp, ComposeOptions, Dagu, DaguStore } from './compose.js';
export { ListenError } from './listen.js';
export { createLogger } from './logger.js';
export type { Logger, LogLevel } from './logger.js';
export { runServer, serve, SERVER_VERSION } from './server.js';
export type { RunningServer, ServeOptions } from './server.js';
