import {
  createHttpClient,
  createRateLimiter,
  createTokenProvider,
  type HttpClient,
  type HttpLogger,
  type Priority,
  type RateLimiter,
  type SharedRateLimiter,
  type TokenProvider,
} from '@ehrflow/http';
import { createSemaphore, type RetryPolicy, type Semaphore } from '@ehrflow/resilience';
import { decryptPayload, encryptPayload, type Keyring } from '@ehrflow/phi';
import type { Redis } from 'ioredis';
import type { ExtractorMetrics } from './metrics.ts';
import { tokenEndpointOf, type SourceConfig } from './sources.ts';

/**
 * What all jobs of one source share in this process: one token provider, one Redis-backed rate
 * limiter (shared with other replicas too) and one concurrency cap. Each job gets its own HTTP
 * client on top of them, with the priority of its kind, so its counters are its own.
 */
export interface SourceRuntime {
  readonly config: SourceConfig;
  readonly tokenProvider: TokenProvider;
  readonly limiter: SharedRateLimiter;
  readonly semaphore: Semaphore;
  /** A new client for one job; close it when the job ends. */
  client(priority: Priority): HttpClient;
}

export interface SourceRuntimeOptions {
  readonly redis: Redis;
  readonly keyring: Keyring;
  readonly retryPolicy: RetryPolicy;
  readonly logger: HttpLogger;
  readonly metrics?: ExtractorMetrics;
}

export function createSourceRuntime(config: SourceConfig, options: SourceRuntimeOptions): SourceRuntime {
  const { redis, keyring } = options;
  const shared = createRateLimiter({
    redis,
    sourceId: config.id,
    publishedLimitPerMinute: config.rateLimitPerMinute,
    headroom: config.headroom,
    // Without Redis the source keeps going on a conservative budget of this replica's own.
    onLocalFallback: (active) =>
      active
        ? options.logger.warn(
            { sourceId: config.id },
            'Redis unreachable: rate limiting on a local budget (a quarter of the shared rate)',
          )
        : options.logger.info(
            { sourceId: config.id },
            'Redis reachable again: rate limiting on the shared budget',
          ),
  });
  const limiter = countingLimiter(shared, config.id, options.metrics);
  const tokenProvider = createTokenProvider({
    ...tokenEndpointOf(config),
    skewMs: config.tokenSkewMs,
    redis,
    // Tokens shared between replicas through Redis travel encrypted with the PHI keyring.
    cipher: {
      encrypt: (plain) => encryptPayload(keyring, Buffer.from(plain, 'utf8')).toString('base64'),
      decrypt: (sealed) => decryptPayload(keyring, Buffer.from(sealed, 'base64')).toString('utf8'),
    },
    // Token requests spend from the source's budget too, ahead of backfill requests.
    limiter,
    logger: options.logger,
  });
  const semaphore = createSemaphore(config.maxConcurrency);

  return {
    config,
    tokenProvider,
    limiter,
    semaphore,
    client(priority) {
      return createHttpClient({
        baseUrl: config.baseUrl,
        tokenProvider,
        limiter,
        semaphore,
        priority,
        retryPolicy: options.retryPolicy,
        logger: options.logger,
        connections: config.maxConcurrency,
        connectTimeoutMs: config.connectTimeoutMs,
        headersTimeoutMs: config.headersTimeoutMs,
        bodyTimeoutMs: config.bodyIdleTimeoutMs,
        retryAfterCapMs: config.retryAfterCapMs,
      });
    },
  };
}

/**
 * Counts grants per priority (the metric tests use to see incremental jobs served first) and
 * keeps the granted-rate gauge of the source current on every 429 and success.
 */
function countingLimiter(
  inner: SharedRateLimiter,
  sourceId: string,
  metrics: ExtractorMetrics | undefined,
): SharedRateLimiter {
  const labels = { source: sourceId };
  metrics?.rateCeiling.set(labels, inner.budgetPerMinute);
  metrics?.rateGranted.set(labels, inner.budgetPerMinute);
  const acquire: RateLimiter['acquire'] = async (options) => {
    await inner.acquire(options);
    metrics?.limiterGrants.inc({ source: sourceId, priority: options?.priority ?? 'incremental' });
  };
  return {
    budgetPerMinute: inner.budgetPerMinute,
    tryAcquire: (priority, waiterId) => inner.tryAcquire(priority, waiterId),
    currentRatePerMinute: () => inner.currentRatePerMinute(),
    acquire,
    async onThrottled(ms) {
      const outcome = await inner.onThrottled(ms);
      metrics?.rateGranted.set(labels, outcome.ratePerMinute);
      return outcome;
    },
    async onSuccess() {
      const rate = await inner.onSuccess();
      metrics?.rateGranted.set(labels, rate);
      return rate;
    },
  };
}
