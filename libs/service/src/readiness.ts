/** A readiness probe: true when this part of the service can take work. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/** The outcome of one round of checks, as `/readyz` reports it. */
export interface ReadinessReport {
  readonly ready: boolean;
  /** Check name → passed. A check that throws or exceeds the timeout counts as failed. */
  readonly checks: Readonly<Record<string, boolean>>;
}

/** Told when a check did not answer in time or threw (a plain `false` is not a failure to report). */
export type ReadinessFailureListener = (name: string, outcome: 'timeout' | 'threw', err?: unknown) => void;

const CHECK_NAME_PATTERN = /^[a-z][a-z0-9_.-]{0,63}$/;

/**
 * Named readiness checks, run concurrently, each bounded by a timeout so one hung dependency
 * cannot hang the probe (the orchestrator would then time out and learn nothing about the others).
 */
export class ReadinessChecks {
  readonly #checks = new Map<string, ReadinessCheck>();
  readonly #timeoutMs: number;
  readonly #onFailure: ReadinessFailureListener;

  constructor(timeoutMs: number, onFailure: ReadinessFailureListener) {
    this.#timeoutMs = timeoutMs;
    this.#onFailure = onFailure;
  }

  /** Adds a check; names are lower-case identifiers and must be unique (a programmer error otherwise). */
  add(name: string, check: ReadinessCheck): void {
    if (!CHECK_NAME_PATTERN.test(name))
      throw new TypeError('readiness check name must match ' + String(CHECK_NAME_PATTERN));
    if (this.#checks.has(name)) throw new TypeError(`readiness check ${name} is already registered`);
    this.#checks.set(name, check);
  }

  /** Runs every check; ready only when there is at least one check and all of them pass. */
  async run(): Promise<ReadinessReport> {
    const entries = [...this.#checks];
    const results = await Promise.all(entries.map(([name, check]) => this.#runOne(name, check)));
    const checks = Object.fromEntries(entries.map(([name], i) => [name, results[i] === true]));
    return { ready: entries.length > 0 && results.every(Boolean), checks };
  }

  async #runOne(name: string, check: ReadinessCheck): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        this.#onFailure(name, 'timeout');
        resolve(false);
      }, this.#timeoutMs);
    });
    try {
      // `async` wrapper turns a synchronous throw into a rejection handled below.
      return await Promise.race([(async () => (await check()) === true)(), timeout]);
    } catch (err) {
      this.#onFailure(name, 'threw', err);
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
