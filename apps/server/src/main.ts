// The dagu-ts server (REST API v2, scheduler, queue) arrives with the REST API issue; until then
// this entry point says so instead of pretending to serve.
process.stderr.write(
  'dagu-ts server: not built yet. Use the CLI meanwhile, e.g. `npx --yes pnpm@10 -s dagu-ts validate <file>`.\n',
);
process.exitCode = 1;
