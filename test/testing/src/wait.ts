/**
 * Bounded waiting on observable conditions: a test waits for what it can see (a row, a record,
 * a log line, a state), never for a fixed time standing in for it.
 */

export interface WaitOptions {
  /** Named in the timeout error: `timed out after 5000 ms waiting for <what>`. */
  readonly what: string;
  readonly timeoutMs: number;
  /** Pause between two checks; default 100 ms. */
  readonly intervalMs?: number;
}

/**
 * Polls `check` until it returns true; throws when `timeoutMs` passes first. The check runs at
 * least once, and once more at the deadline. Errors thrown by `check` propagate at once.
 */
export async function waitFor(check: () => boolean | Promise<boolean>, options: WaitOptions): Promise<void> {
  await waitForValue(async () => ((await check()) ? true : undefined), options);
}

/**
 * Polls `probe` until it returns a value other than `undefined`, and returns that value; throws
 * when `timeoutMs` passes first. Errors thrown by `probe` propagate at once.
 */
export async function waitForValue<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}`);
    }
    await sleep(Math.min(options.intervalMs ?? 100, Math.max(1, deadline - Date.now())));
  }
}

/** Resolves after `ms`. For pacing a load or a poll; never as a wait for a condition. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
