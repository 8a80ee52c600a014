import { PipelineError } from '@ehrflow/errors';

/** How much the source is throttling a job's client now (from its `HttpCounters`). */
export interface Throttling {
  /** 429s so far. */
  readonly total: number;
  /** 429s since the last usable answer. */
  readonly inARow: number;
}

export interface StallWatchOptions {
  /** `EXTRACTOR_STALL_TIMEOUT_MS`: how long a throttled job may go without producing a record. */
  readonly timeoutMs: number;
  readonly throttling: () => Throttling;
  /** Called once, with the `RATE_LIMIT_STALLED` error, when the job stalls. */
  readonly onStall: (err: PipelineError) => void;
  /** For error context only (ids from configuration, never record data). */
  readonly context: { readonly jobId: string; readonly sourceId: string };
  /** How often the timer checks. Default a tenth of the timeout, between 50 ms and 10 s. */
  readonly checkEveryMs?: number;
  readonly now?: () => number;
}

export interface StallWatch {
  /** The job produced records: the stall clock starts again. */
  progress(): void;
  /** Checks once (the timer calls this); returns the stall error when the job just stalled. */
  check(): PipelineError | undefined;
  /** The error that ended the job, once it stalled. */
  stalled(): PipelineError | undefined;
  stop(): void;
}

/**
 * Fails a job on rate limits by time, never by attempt count: a 429 is backpressure, and a job
 * keeps retrying under it as long as it makes progress. The job stalls when it has produced no
 * record for `timeoutMs` while the source was throttling it (429s since the last record, the
 * latest answer a 429). A long export that is merely being prepared (202 polls) never stalls.
 */
export function watchStall(options: StallWatchOptions): StallWatch {
  const now = options.now ?? Date.now;
  let lastProgressAt = now();
  let throttledAtProgress = options.throttling().total;
  let error: PipelineError | undefined;

  const check = (): PipelineError | undefined => {
    if (error !== undefined) return undefined;
    const idleMs = now() - lastProgressAt;
    if (idleMs < options.timeoutMs) return undefined;
    const { total, inARow } = options.throttling();
    if (inARow === 0 || total <= throttledAtProgress) return undefined;
    error = new PipelineError(
      'RATE_LIMIT_STALLED',
      'no record produced within the stall timeout under 429s',
      {
        context: {
          ...options.context,
          idleMs,
          timeoutMs: options.timeoutMs,
          throttled: total - throttledAtProgress,
        },
      },
    );
    stop();
    options.onStall(error);
    return error;
  };

  const every = options.checkEveryMs ?? Math.max(50, Math.min(10_000, Math.floor(options.timeoutMs / 10)));
  const timer = setInterval(check, every);
  timer.unref();
  const stop = (): void => clearInterval(timer);

  return {
    progress() {
      lastProgressAt = now();
      throttledAtProgress = options.throttling().total;
    },
    check,
    stalled: () => error,
    stop,
  };
}
