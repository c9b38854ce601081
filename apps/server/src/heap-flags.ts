// Imported first by main.ts (and by the CLI for `server` and `start-all`), so that it runs before
// the rest of the server is loaded: V8 grows its young generation (two semispaces) from 1 MB up
// to 16 MB each whenever many objects survive a scavenge, which module loading at start-up does,
// and never gives those pages back, so an idle server would keep ~32 MB of young generation
// touched. Without growth the young generation stays at 1 MB per semispace: the idle server is
// ~10 MB smaller, and busy it scavenges more often (measured with bench/api: no change of CPU
// per run beyond the noise). The flag is read at each growth, so setting it now is enough (the
// semispace size flags are not: they are read once). Node flags given for the young generation
// (node --semi-space-growth-factor=2 …, or in NODE_OPTIONS) are left as they are.
import { setFlagsFromString } from 'node:v8';

const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) =>
  /--(semi[-_]space[-_]growth[-_]factor|max[-_]semi[-_]space[-_]size)/.test(arg),
);
if (!given) setFlagsFromString('--semi-space-growth-factor=1');
