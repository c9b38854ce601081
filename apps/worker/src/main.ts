// The dagu-ts worker (pulls queued runs from a server) arrives with the scheduler/queue issues.
process.stderr.write('dagu-ts worker: not built yet.\n');
process.exitCode = 1;
