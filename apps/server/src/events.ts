// Fans the run launcher's events out to whoever subscribes (the API's metrics and live views).
// A listener that throws is reported and does not stop the others or the run.
import type { RunEvent, RunEventListener } from '@dagu-ts/core';

export interface RunEventFanout {
  /** Passes one event to every listener; give it to RunLauncher as `onEvent`. */
  emit(event: RunEvent): void;
  /** Adds a listener; the returned function removes it. */
  subscribe(listener: RunEventListener): () => void;
  readonly size: number;
}

export function createRunEventFanout(
  onListenerError: (error: unknown) => void = () => undefined,
): RunEventFanout {
  const listeners = new Set<RunEventListener>();
  return {
    emit(event) {
      for (const listener of [...listeners]) {
        try {
          listener(event);
        } catch (error) {
          onListenerError(error);
        }
      }
    },
    subscribe(listener) {
      // A wrapper per subscription, so the same function subscribed twice is two subscriptions.
      const entry: RunEventListener = (event) => listener(event);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    get size() {
      return listeners.size;
    },
  };
}
