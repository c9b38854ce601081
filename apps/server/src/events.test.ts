import type { RunEvent } from '@dagu-ts/core';
import { describe, expect, it } from 'vitest';
import { createRunEventFanout } from './events.js';

const event = { type: 'run-finished', run: { name: 'a', dagRunId: '1' } } as unknown as RunEvent;

describe('createRunEventFanout', () => {
  it('passes every event to every subscriber until it unsubscribes', () => {
    const fanout = createRunEventFanout();
    const seen: string[] = [];
    const offA = fanout.subscribe(() => seen.push('a'));
    fanout.subscribe(() => seen.push('b'));
    fanout.emit(event);
    offA();
    fanout.emit(event);
    expect(seen).toEqual(['a', 'b', 'b']);
    expect(fanout.size).toBe(1);
  });

  it('reports a throwing listener and still reaches the others', () => {
    const errors: unknown[] = [];
    const fanout = createRunEventFanout((error) => errors.push(error));
    const seen: RunEvent[] = [];
    fanout.subscribe(() => {
      throw new Error('boom');
    });
    fanout.subscribe((e) => seen.push(e));
    fanout.emit(event);
    expect(seen).toEqual([event]);
    expect((errors[0] as Error).message).toBe('boom');
  });

  it('treats the same function subscribed twice as two subscriptions', () => {
    const fanout = createRunEventFanout();
    let count = 0;
    const listener = () => void count++;
    const off = fanout.subscribe(listener);
    fanout.subscribe(listener);
    off();
    fanout.emit(event);
    expect(count).toBe(1);
  });
});
