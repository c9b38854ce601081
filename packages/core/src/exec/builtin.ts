// The executors this engine ships, registered by the step types that select them.
import { commandExecutor, shellExecutor } from './command.js';
import { dagExecutor, parallelExecutor } from './dag.js';
import { ExecutorRegistry } from './executor.js';
import { httpExecutor } from './http.js';
import { jqExecutor } from './jq.js';
import { mailExecutor } from './mail.js';
import { sshExecutor } from './ssh.js';

/** A new registry holding the built-in executors; register more on it and pass it to a run. */
export function createExecutorRegistry(): ExecutorRegistry {
  return new ExecutorRegistry()
    .register('', commandExecutor)
    .register('command', commandExecutor)
    .register('shell', shellExecutor)
    .register('dag', dagExecutor)
    .register('subworkflow', dagExecutor)
    .register('parallel', parallelExecutor)
    .register('jq', jqExecutor)
    .register('http', httpExecutor)
    .register('ssh', sshExecutor)
    .register('mail', mailExecutor);
}

/** What a run uses when it is given none; not exported by the package, so no embedder changes it. */
export const builtInExecutors: ExecutorRegistry = createExecutorRegistry();
