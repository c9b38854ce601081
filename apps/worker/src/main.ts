// The dagu-ts worker (planned: pulls queued runs from a server over HTTP) is not built yet.
process.stderr.write('dagu-ts worker: not built yet.\n');
process.exitCode = 1;
