// The CLI's configuration is the server's: @dagu-ts/server's loader (command-line flag >
// environment variable > config file > default, Dagu's DAGU_* names), so that the CLI, a
// scheduler and a server started with the same config.yaml see the same DAG files, runs and
// queues. Loaded once per command, after the global options and the command's own flags.
import { loadConfig, type ServerConfig, type ServerFlags } from '@dagu-ts/server';

let flags: Partial<ServerFlags> = {};
let loaded: ServerConfig | undefined;

/** `-c/--config` and a command's own flags (`--dags`, `--port`, …). */
export function setConfigFlags(more: Partial<ServerFlags>): void {
  flags = { ...flags, ...more };
  loaded = undefined;
}

/**
 * The configuration; throws a ConfigError naming the bad setting and where it came from. Its
 * time zone (DAGU_TZ / tz) becomes this process's, as in the server.
 */
export function cliConfig(): ServerConfig {
  if (!loaded) {
    loaded = loadConfig({ flags });
    if (loaded.tz) process.env.TZ = loaded.tz;
  }
  return loaded;
}
