import { TimeWindow } from './time-window.ts';

/** The published request limit: `limit` requests per client per `windowMs` (limit 0 = no limit). */
export interface RateLimitOptions {
  readonly limit: number;
  readonly windowMs: number;
  /** `fixed`: counters reset at window boundaries; `sliding`: a trailing window (sliding log). */
  readonly window: 'fixed' | 'sliding';
}

export type RateDecision =
  | { readonly allowed: true; readonly remaining: number }
  | { readonly allowed: false; readonly waitMs: number };

/** Per-client limiter. Only admitted requests use up the budget, so a refused burst does not extend the wait. */
export class RateLimiter {
  readonly options: RateLimitOptions;
  private readonly sliding = new Map<string, TimeWindow>();
  private readonly fixed = new Map<string, { start: number; count: number }>();

  constructor(options: RateLimitOptions) {
    this.options = options;
  }

  check(clientKey: string, now: number): RateDecision {
    const { limit, windowMs } = this.options;
    if (limit <= 0) return { allowed: true, remaining: Number.MAX_SAFE_INTEGER };
    if (this.options.window === 'fixed') {
      const start = Math.floor(now / windowMs) * windowMs;
      let slot = this.fixed.get(clientKey);
      if (slot === undefined || slot.start !== start) {
        slot = { start, count: 0 };
        this.fixed.set(clientKey, slot);
      }
      if (slot.count >= limit) return { allowed: false, waitMs: start + windowMs - now };
      slot.count++;
      return { allowed: true, remaining: limit - slot.count };
    }
    let log = this.sliding.get(clientKey);
    if (log === undefined) {
      log = new TimeWindow(windowMs);
      this.sliding.set(clientKey, log);
    }
    if (log.prune(now) >= limit) return { allowed: false, waitMs: (log.oldest() ?? now) + windowMs - now };
    return { allowed: true, remaining: limit - log.add(now) };
  }

  reset(): void {
    this.sliding.clear();
    this.fixed.clear();
  }
}
