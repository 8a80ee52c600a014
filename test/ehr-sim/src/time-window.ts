/**
 * Timestamps inside a trailing window (a sliding log). Used both by the sliding-window rate limit
 * and by the peak-rate counters. Memory is bounded by the number of events inside one window.
 */
export class TimeWindow {
  readonly windowMs: number;
  private times: number[] = [];
  private head = 0;

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  /** Drops events at or before `now - windowMs`; returns how many remain. */
  prune(now: number): number {
    const limit = now - this.windowMs;
    while (this.head < this.times.length && (this.times[this.head] ?? 0) <= limit) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }

  /** Records an event at `now`; returns the count inside the window including it. */
  add(now: number): number {
    this.times.push(now);
    return this.prune(now);
  }

  /** Time of the oldest event still inside the window. */
  oldest(): number | undefined {
    return this.times[this.head];
  }
}
