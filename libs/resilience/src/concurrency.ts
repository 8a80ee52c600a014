import { PipelineError } from '@ehrflow/errors';

/** Gives a permit back; calling it more than once is harmless. */
export type Release = () => void;

/**
 * A per-source concurrency cap: at most `max` operations run at once, waiters are served in
 * arrival order (FIFO), and the queue of waiters is bounded.
 */
export interface Semaphore {
  /** Runs `fn` under a permit; the permit is returned however `fn` ends. */
  run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Takes a permit for work that outlives one call (a streamed body); call the release when done. */
  acquire(signal?: AbortSignal): Promise<Release>;
  /** Operations holding a permit now. */
  active(): number;
  /** Operations waiting for a permit now. */
  waiting(): number;
}

export interface SemaphoreOptions {
  /** Most waiters allowed in the queue; one more is refused with `HTTP_TRANSIENT`. Default: unbounded. */
  readonly maxWaiting?: number;
}

interface Waiter {
  readonly grant: (release: Release) => void;
}

/** Creates a FIFO semaphore with `max` permits. */
export function createSemaphore(max: number, options: SemaphoreOptions = {}): Semaphore {
  if (!Number.isInteger(max) || max < 1) {
    throw new PipelineError('CONFIG_INVALID', 'semaphore size must be a positive integer', {
      context: { max },
    });
  }
  const maxWaiting = options.maxWaiting ?? Number.POSITIVE_INFINITY;
  const queue: Waiter[] = [];
  let active = 0;

  const makeRelease = (): Release => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queue.shift();
      // Hand the permit straight to the next waiter so a newcomer cannot overtake it.
      if (next === undefined) active--;
      else next.grant(makeRelease());
    };
  };

  const acquire = (signal?: AbortSignal): Promise<Release> => {
    signal?.throwIfAborted();
    if (active < max) {
      active++;
      return Promise.resolve(makeRelease());
    }
    if (queue.length >= maxWaiting) {
      return Promise.reject(
        new PipelineError('HTTP_TRANSIENT', 'too many operations waiting for a connection slot', {
          context: { max, maxWaiting },
        }),
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = (): void => {
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        reject(abortReason(signal));
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
      };
      queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  };

  return {
    acquire,
    async run(fn, signal) {
      const release = await acquire(signal);
      try {
        return await fn();
      } finally {
        release();
      }
    },
    active: () => active,
    waiting: () => queue.length,
  };
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError');
}
