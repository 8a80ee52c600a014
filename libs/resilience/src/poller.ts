/**
 * A task run every `pollMs` that never overlaps itself: the next run is scheduled when the last
 * one has settled, `run()` joins a run in progress instead of starting a second, and `stop()`
 * waits for the run in progress. A rejected run is handed to `onError` and the polling goes on.
 */
export interface Poller<T> {
  /** Runs the task now, or joins the run in progress. */
  run(): Promise<T>;
  start(): void;
  /** No further runs; resolves when the run in progress has settled. */
  stop(): Promise<void>;
  readonly stopped: boolean;
}

export interface PollerOptions<T> {
  readonly pollMs: number;
  readonly task: () => Promise<T>;
  /** Called with a run's rejection (the poller keeps going); the run then counts as `fallback`. */
  readonly onError: (err: unknown) => void;
  readonly fallback: T;
}

export function createPoller<T>(options: PollerOptions<T>): Poller<T> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<T> | undefined;
  let stopped = false;

  const tick = () => {
    running = options
      .task()
      .catch((err: unknown) => {
        options.onError(err);
        return options.fallback;
      })
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, options.pollMs);
      });
  };

  return {
    run: () => running ?? options.task(),
    start() {
      stopped = false;
      timer = setTimeout(tick, 0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    get stopped() {
      return stopped;
    },
  };
}
