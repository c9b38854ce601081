#!/usr/bin/env node
// The server commands first set the server's V8 heap settings, before anything else is loaded
// (@dagu-ts/server/heap-flags); every other command keeps Node's defaults.
const command = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
if (command === 'server' || command === 'start-all') await import('@dagu-ts/server/heap-flags');
const { runCli } = await import('./main.js');

process.exitCode = await runCli(process.argv);
