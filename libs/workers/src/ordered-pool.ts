import { Piscina } from 'piscina';
import { ERROR_CATALOG, PipelineError, type ErrorCode } from '@ehrflow/errors';

/**
 * What a worker task sends back: its result, or the stable code of its failure. Never an error
 * object: an error's message and properties may carry a record's values, and this is the only
 * thing that crosses the worker boundary (see {@link defineWorkerTask}).
 */
export type WorkerReply<R> = { readonly ok: R } | { readonly failed: ErrorCode };

/** The task `warmUp` sends: the worker loads (and runs its warm-up hook) and answers nothing. */
const WARM_UP = '@ehrflow/workers:warm-up';

export interface OrderedPoolOptions {
  /** The worker module (a `file:` URL or path); its default export comes from {@link defineWorkerTask}. */
  readonly filename: URL | string;
  /** Worker threads; at least 1. */
  readonly threads: number;
  /** Given to every worker as `workerData` (structured-cloned: plain data only). */
  readonly workerData?: unknown;
  /** Heap limit of each worker, in MB (V8 `maxOldGenerationSizeMb`); the worker exits beyond it. */
  readonly maxHeapMb?: number;
}

export interface OrderedPoolStats {
  readonly threads: number;
  /** Tasks completed since start. */
  readonly completed: number;
  /** Share of the pool's thread time spent in tasks since start (0..1). */
  readonly utilization: number;
}

/**
 * A fixed pool of worker threads that maps a list of tasks to their results IN THE ORDER OF THE
 * TASKS, whatever order the workers finish in. One failed task fails the whole call (after every
 * task has settled, so no task of it is still running when the caller retries).
 */
export interface OrderedPool<T, R> {
  readonly threads: number;
  /**
   * Runs every task on the pool and resolves with their results in task order.
   * @throws PipelineError with the code the task failed with, or WORKER_FAILED (the worker threw
   *   something that is no PipelineError, or exited); its message names the code only.
   */
  map(tasks: readonly T[]): Promise<R[]>;
  /**
   * Resolves when the workers have loaded their module and run its warm-up hook, so a stage can
   * refuse to start on a worker that cannot, and its first chunk does not wait for them.
   * @throws PipelineError as `map`.
   */
  warmUp(): Promise<void>;
  stats(): OrderedPoolStats;
  /** Ends the workers; tasks still queued reject. */
  close(): Promise<void>;
}

/**
 * Creates the pool. Workers start now (not on the first chunk), so a worker module that cannot
 * load fails at start-up rather than in the middle of a batch.
 *
 * Piscina does the thread management (start, replace a worker that exited, queue, transfer), a
 * well-kept library rather than our own; this seam adds what the stages need of it: results in
 * task order and failures reduced to a PHI-free code.
 */
export function createOrderedPool<T, R>(options: OrderedPoolOptions): OrderedPool<T, R> {
  if (!Number.isInteger(options.threads) || options.threads < 1)
    throw new RangeError('threads must be a positive integer');
  const filename = options.filename instanceof URL ? options.filename.href : options.filename;
  const pool = new Piscina<T, WorkerReply<R>>({
    filename,
    minThreads: options.threads,
    maxThreads: options.threads,
    // Workers live as long as the stage: no idle exit and re-start between chunks.
    idleTimeout: Number.POSITIVE_INFINITY,
    // Piscina's default ('sync') blocks an idle worker's event loop in Atomics.wait: background
    // work of a worker (the registry refresh of the validator's contracts) would never finish.
    atomics: 'async',
    workerData: options.workerData,
    ...(options.maxHeapMb === undefined
      ? {}
      : { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } }),
  });
  // A worker that fails outside a task (while starting, e.g. out of heap) leaves the tasks queued
  // for it waiting for good: every call in flight is aborted instead, and fails as WORKER_FAILED.
  const inFlight = new Set<AbortController>();
  pool.on('error', () => {
    for (const call of inFlight) call.abort();
  });
  return {
    threads: options.threads,
    async map(tasks) {
      const call = new AbortController();
      inFlight.add(call);
      const settled = await Promise.allSettled(
        tasks.map((task) => pool.run(task, { signal: call.signal })),
      ).finally(() => inFlight.delete(call));
      const out: R[] = [];
      for (const s of settled) {
        if (s.status === 'rejected') throw workerFailed('WORKER_FAILED');
        if ('failed' in s.value) throw workerFailed(s.value.failed);
        out.push(s.value.ok);
      }
      return out;
    },
    async warmUp() {
      await this.map(Array.from({ length: options.threads }, () => WARM_UP as T));
    },
    stats: () => ({ threads: options.threads, completed: pool.completed, utilization: pool.utilization }),
    close: () => pool.destroy(),
  };
}

function workerFailed(code: ErrorCode): PipelineError {
  return new PipelineError(code, `worker task failed (${code})`, { context: { worker: true } });
}

/**
 * Wraps a worker module's task function: its result goes back as it is; any failure goes back as
 * a code only — a PipelineError's code (codes are PHI-free), WORKER_FAILED for anything else —
 * so nothing of a record's values leaves the worker in an error.
 */
export function defineWorkerTask<T, R>(
  run: (task: T) => R | Promise<R>,
  warmUp?: () => Promise<void>,
): (task: T) => Promise<WorkerReply<R>> {
  return async (task) => {
    try {
      if (task === (WARM_UP as T)) {
        await warmUp?.();
        return { ok: undefined as R };
      }
      return { ok: await run(task) };
    } catch (err) {
      const code =
        err instanceof PipelineError && err.code in ERROR_CATALOG ? err.code : ('WORKER_FAILED' as const);
      return { failed: code };
    }
  };
}

/**
 * A Buffer again for bytes that crossed a worker boundary (structured clone turns a Buffer into a
 * plain Uint8Array, and Avro's `bytes` type wants a Buffer). Shares the memory; no copy.
 */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Splits a list into at most `parts` contiguous slices of near-equal length, in order. */
export function slices<T>(items: readonly T[], parts: number): T[][] {
  const n = Math.max(1, Math.min(parts, items.length));
  const out: T[][] = [];
  const size = Math.ceil(items.length / n);
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
