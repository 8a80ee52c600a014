import { isPipelineError } from '@ehrflow/errors';
import type { Logger } from '@ehrflow/logging';
import { redactForeignError } from './redact-error.ts';
import type { ServiceHttp } from './service-http.ts';

/**
 * One cheap round trip to a dependency (a Kafka metadata request, a registry GET). Implemented by
 * `createKafkaProbe` (`@ehrflow/kafka`) and `createRegistryProbe` (`@ehrflow/contracts`).
 */
export interface DependencyProbe {
  /** Resolves when the dependency answered; rejects (ideally with a `PipelineError`) otherwise. */
  probe(): Promise<void>;
  /** Releases the probe's connections. */
  close?(): Promise<void>;
}

/** What the last finished probe said; `unknown` before the first one. */
export type DependencyState = 'unknown' | 'reachable' | 'unreachable';

export interface DependencyCheckOptions {
  /** Readiness check name and the `dependency` field of its log lines (`kafka`, `registry`). */
  readonly name: string;
  readonly probe: DependencyProbe;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
  /**
   * Upper bound of one answer. Keep it below the readiness timeout of `createServiceHttp`
   * (2000 ms by default) so a hung dependency reads as "not ready", not as a hung check.
   * Default 1500 ms.
   */
  readonly timeoutMs?: number;
  /** A result is reused for this long before the dependency is asked again. Default 5000 ms. */
  readonly intervalMs?: number;
  /** Clock (tests). */
  readonly now?: () => number;
}

/** A cached, bounded reachability check of one dependency. */
export interface DependencyCheck {
  readonly name: string;
  /**
   * The readiness check: the cached result while it is fresh, otherwise one probe (shared by
   * concurrent callers) awaited for at most `timeoutMs`. Never throws.
   */
  readonly check: () => Promise<boolean>;
  state(): DependencyState;
  /** Closes the probe. */
  close(): Promise<void>;
}

export const DEFAULT_DEPENDENCY_TIMEOUT_MS = 1500;
export const DEFAULT_DEPENDENCY_INTERVAL_MS = 5000;

const CODE_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/**
 * Wraps a probe into a readiness check that a busy orchestrator can call every second without
 * turning into load on the dependency: at most one probe per `intervalMs`, one in flight at a
 * time, and an answer within `timeoutMs` even when the probe hangs (a late result still updates
 * the state). Only changes of state are logged, with the dependency name and an error code.
 */
export function createDependencyCheck(options: DependencyCheckOptions): DependencyCheck {
  const { name, probe, logger } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_DEPENDENCY_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_DEPENDENCY_INTERVAL_MS;
  const now = options.now ?? Date.now;
  let state: DependencyState = 'unknown';
  let checkedAt: number | undefined;
  let inFlight: Promise<boolean> | undefined;

  /** `err` is the probe's failure, or `'timeout'` when it did not answer in time. */
  const record = (reachable: boolean, err?: unknown): boolean => {
    checkedAt = now();
    const next: DependencyState = reachable ? 'reachable' : 'unreachable';
    if (next !== state) {
      const previous = state;
      state = next;
      if (reachable) logger.info({ dependency: name, previous }, 'dependency reachable');
      else
        logger.warn(
          {
            dependency: name,
            previous,
            reason: reasonOf(err),
            ...(err === undefined || err === 'timeout' ? {} : { err: redactForeignError(err) }),
          },
          'dependency unreachable',
        );
    }
    return reachable;
  };

  const runProbe = (): Promise<boolean> => {
    inFlight ??= (async () => {
      try {
        await probe.probe();
        return record(true);
      } catch (err) {
        return record(false, err);
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  const check = async (): Promise<boolean> => {
    if (checkedAt !== undefined && now() - checkedAt < intervalMs) return state === 'reachable';
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(record(false, 'timeout')), timeoutMs);
    });
    try {
      return await Promise.race([runProbe(), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    name,
    check,
    state: () => state,
    close: async () => {
      await probe.close?.();
    },
  };
}

/** Several dependency checks, registered together and closed together. */
export interface DependencyChecks {
  readonly checks: readonly DependencyCheck[];
  /** Adds each as a named readiness check (`/readyz` reports it under its name). */
  addTo(http: Pick<ServiceHttp, 'addReadinessCheck'>): void;
  /** Closes every probe; one that fails to close does not keep the others open. */
  close(): Promise<void>;
}

/**
 * Creates one {@link DependencyCheck} per named probe, e.g.
 * `createDependencyChecks({ kafka: createKafkaProbe(...), registry: createRegistryProbe(...) }, { logger })`.
 */
export function createDependencyChecks(
  probes: Readonly<Record<string, DependencyProbe>>,
  options: Omit<DependencyCheckOptions, 'name' | 'probe'>,
): DependencyChecks {
  const checks = Object.entries(probes).map(([name, probe]) =>
    createDependencyCheck({ ...options, name, probe }),
  );
  return {
    checks,
    addTo(http) {
      for (const c of checks) http.addReadinessCheck(c.name, c.check);
    },
    async close() {
      await Promise.allSettled(checks.map((c) => c.close()));
    },
  };
}

/** A short, value-free reason: the catalog code, or the type or system code of a foreign error. */
function reasonOf(err: unknown): string {
  if (err === 'timeout') return 'timeout';
  if (isPipelineError(err)) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CODE_PATTERN.test(code)) return code;
  return err instanceof Error && CODE_PATTERN.test(err.name) ? err.name : 'error';
}
