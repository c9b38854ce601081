// Session context and polling: every page reads through usePoll, which refreshes at most every
// 2 s while the tab is visible, and every action goes through useAction. A 401 anywhere leads
// back to the login form.
import type { DaguClient } from '@dagu-ts/client';
import { DaguApiError } from '@dagu-ts/client';
import { createContext, useCallback, useContext, useEffect, useRef, useState } from 'react';
import type { Action, Role } from './session.js';

export interface Session {
  client: DaguClient;
  role: Role;
  /** Whether the buttons of `action` are shown (role and the server's permission switches). */
  can: (action: Action) => boolean;
  unauthorized: () => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('no session');
  return session;
}

export const POLL_MS = 2000;

/** Starts a promise whose failures are handled inside it; a stray one is only logged. */
export function fire(promise: Promise<unknown>): void {
  promise.catch((error: unknown) => console.error(error));
}

export function errorText(error: unknown): string {
  if (error instanceof DaguApiError) return `${error.message} (${error.status} ${error.code})`;
  return error instanceof Error ? error.message : String(error);
}

export interface Polled<T> {
  data: T | undefined;
  error: string | undefined;
  reload: () => void;
}

/**
 * Loads `load` now and every `intervalMs` (0: once) while `key` stays the same. With
 * `keepPrevious`, the last data stays on screen while a new key loads (a list being filtered).
 */
export function usePoll<T>(
  key: string,
  load: (client: DaguClient, signal: AbortSignal) => Promise<T>,
  intervalMs = POLL_MS,
  keepPrevious = false,
): Polled<T> {
  const { client, unauthorized } = useSession();
  const [state, setState] = useState<{ key: string; data?: T; error?: string }>({ key });
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const data = await loadRef.current(client, controller.signal);
        if (!controller.signal.aborted) setState({ key, data });
      } catch (error) {
        if (controller.signal.aborted) return;
        if (error instanceof DaguApiError && error.status === 401) {
          unauthorized();
          return;
        }
        setState((previous) => ({ ...previous, key, error: errorText(error) }));
      }
      if (intervalMs > 0 && !controller.signal.aborted)
        timer = setTimeout(() => fire(run()), intervalMs);
    };
    fire(run());
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [client, key, tick, intervalMs, unauthorized]);

  const reload = useCallback(() => setTick((value) => value + 1), []);
  const current = state.key === key || keepPrevious ? state : { key };
  return { data: current.data, error: current.error, reload };
}

/** Runs an action; its error is kept for display, a 401 leads to the login. */
export function useAction() {
  const { client, unauthorized } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const runAsync = useCallback(
    async <T,>(action: (client: DaguClient) => Promise<T>): Promise<T | undefined> => {
      setBusy(true);
      setError(undefined);
      try {
        return await action(client);
      } catch (caught) {
        if (caught instanceof DaguApiError && caught.status === 401) unauthorized();
        else setError(errorText(caught));
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [client, unauthorized],
  );
  /** Fire and forget: `onDone` gets the result, or undefined when the action failed. */
  const run = useCallback(
    <T,>(action: (client: DaguClient) => Promise<T>, onDone?: (result: T | undefined) => void) =>
      fire(runAsync(action).then((result) => onDone?.(result))),
    [runAsync],
  );
  return { run, runAsync, busy, error, setError };
}
