// `dagu-ts server` and `dagu-ts start-all`: the server program of @dagu-ts/server, configured
// like every other command (flags > environment > config.yaml > default).
import { runServer } from '@dagu-ts/server';
import { cliConfig } from '../settings.js';

export function serveCommand(options: { scheduler: boolean }): Promise<number> {
  return runServer(cliConfig(), options);
}
