import { setTimeout as timer } from 'node:timers/promises';

/** How the package waits; injectable wherever a module sleeps, so tests can use virtual time. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Waits `ms`, or rejects with `signal.reason` (not Node's wrapper) as soon as the signal aborts. */
export const sleep: Sleep = async (ms, signal) => {
  signal?.throwIfAborted();
  try {
    await timer(ms, undefined, signal === undefined ? undefined : { signal });
  } catch (err) {
    if (signal?.aborted === true) throw signal.reason;
    throw err;
  }
};
