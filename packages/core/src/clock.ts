// The engine's one source of "now". Everything that stamps a run (ids, queued/started/finished
// times) or compares against those stamps (the scheduler's skip decisions) reads the same clock,
// so an embedder or a test that injects one never mixes it with the machine's.
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
