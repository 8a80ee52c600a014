import { TimeWindow } from './time-window.ts';

/**
 * The enforced request limit: `limit` requests per client per `windowMs` (limit 0 = no limit).
 * Real gateways often publish another figure than they enforce, and answer every 429 with the
 * same short `Retry-After` whatever the window still needs; `publishedLimit` and
 * `retryAfterHintSeconds` model both.
 */
export interface RateLimitOptions {
  readonly limit: number;
  readonly windowMs: number;
  /** `fixed`: counters reset at window boundaries; `sliding`: a trailing window (sliding log). */
  readonly window: 'fixed' | 'sliding';
  /** The limit shown in metadata and `X-RateLimit-Limit`; 0 = the enforced `limit`. */
  readonly publishedLimit: number;
  /** A constant `Retry-After` (seconds) on every 429 instead of the real wait; 0 = the real wait. */
  readonly retryAfterHintSeconds: number;
}

export type RateDecision =
  | { readonly allowed: true; readonly remaining: number }
  | {
      readonly allowed: false;
      /** When the window really admits the next request. */
      readonly waitMs: number;
      /** What the 429 says: the real wait, or the constant hint. */
      readonly retryAfterMs: number;
    };

/** Per-client limiter. Only admitted requests use up the budget, so a refused burst does not extend the wait. */
export class RateLimiter {
  readonly options: RateLimitOptions;
  private readonly sliding = new Map<string, TimeWindow>();
  private readonly fixed = new Map<string, { start: number; count: number }>();

  constructor(options: RateLimitOptions) {
    this.options = options;
  }

  /** The limit the site publishes (which need not be the one it enforces). */
  get published(): number {
    return this.options.publishedLimit > 0 ? this.options.publishedLimit : this.options.limit;
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
      if (slot.count >= limit) return this.refuse(start + windowMs - now);
      slot.count++;
      return { allowed: true, remaining: limit - slot.count };
    }
    let log = this.sliding.get(clientKey);
    if (log === undefined) {
      log = new TimeWindow(windowMs);
      this.sliding.set(clientKey, log);
    }
    if (log.prune(now) >= limit) return this.refuse((log.oldest() ?? now) + windowMs - now);
    return { allowed: true, remaining: limit - log.add(now) };
  }

  private refuse(waitMs: number): RateDecision {
    const hint = this.options.retryAfterHintSeconds * 1000;
    return { allowed: false, waitMs, retryAfterMs: hint > 0 ? hint : waitMs };
  }

  reset(): void {
    this.sliding.clear();
    this.fixed.clear();
  }
}
