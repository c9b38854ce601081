#!/usr/bin/env node
// `dagu-ts-server` (and `pnpm start`): the API, the cron scheduler and the queues in one process,
// as `dagu-ts start-all`. Only argument handling is here; the process is server.ts.
// First: V8 heap settings that must apply before the rest is loaded.
import './heap-flags.js';
import { DaguError } from '@dagu-ts/core';
import { ConfigError, loadConfig, parseServerArgs, USAGE } from './config.js';
import { ListenError } from './listen.js';
import { runServer, SERVER_VERSION } from './server.js';

async function main(argv: readonly string[]): Promise<number> {
  const flags = parseServerArgs(argv);
  if (flags.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (flags.version) {
    process.stdout.write(`${SERVER_VERSION}\n`);
    return 0;
  }
  return runServer(loadConfig({ flags }), { scheduler: true });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Expected start-up failures are one line on stderr, never a stack trace.
    process.stderr.write(`dagu-ts server: ${startupErrorMessage(error)}\n`);
    process.exit(1);
  },
);

function startupErrorMessage(error: unknown): string {
  return error instanceof ConfigError || error instanceof ListenError || error instanceof DaguError
    ? error.message
    : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
}
