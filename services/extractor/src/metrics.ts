import {
  createMetrics,
  declareMetrics,
  metric,
  type DeclaredMetrics,
  type ServiceMetrics,
} from '@ehrflow/service';
import type { HttpCounters } from '@ehrflow/http';

/**
 * The extractor's Prometheus metrics. Labels are configured source ids, resource types, error
 * codes, priorities and job states only — never anything read from a record.
 */
export const EXTRACTOR_METRICS = {
  requests: metric.counter('extractor_http_requests_total', 'Requests sent to sources', 'source'),
  retries: metric.counter(
    'extractor_http_retries_total',
    'Requests retried after a transient failure or 429',
    'source',
  ),
  throttled: metric.counter('extractor_http_throttled_total', 'Responses 429 from sources', 'source'),
  tokenRefreshes: metric.counter('extractor_token_refreshes_total', 'Access token requests', 'source'),
  produced: metric.counter(
    'extractor_resources_produced_total',
    'Envelopes acknowledged by Kafka',
    'source',
    'resource_type',
    'kind',
  ),
  bytes: metric.counter(
    'extractor_payload_bytes_total',
    'Plaintext payload bytes produced',
    'source',
    'resource_type',
  ),
  recordErrors: metric.counter(
    'extractor_record_errors_total',
    'Records that could not be extracted',
    'source',
    'code',
  ),
  jobs: metric.counter(
    'extractor_jobs_finished_total',
    'Jobs reaching a final state',
    'source',
    'state',
    'reason',
  ),
  limiterGrants: metric.counter(
    'extractor_limiter_grants_total',
    'Rate limiter grants by priority',
    'source',
    'priority',
  ),
  /** The rate the shared limiter grants now (below the ceiling after 429s); one value for all replicas. */
  rateGranted: metric.gauge(
    'extractor_rate_granted_per_minute',
    'Requests per minute the shared rate limiter grants a source now (429 share: throttled / requests)',
    'source',
  ),
  /** The configured ceiling: published limit × headroom. */
  rateCeiling: metric.gauge(
    'extractor_rate_ceiling_per_minute',
    'Configured rate ceiling of a source (published limit × headroom)',
    'source',
  ),
};

export interface ExtractorMetrics extends DeclaredMetrics<typeof EXTRACTOR_METRICS> {
  readonly service: ServiceMetrics;
  /** Adds what a client's counters grew by since the last call for the same client key. */
  syncHttp(clientKey: object, sourceId: string, counters: HttpCounters): void;
  /** Adds what a source's token provider's refresh count grew by since the last call. */
  syncTokens(sourceId: string, total: number): void;
}

/** `service`: the registry to add to (the stage skeleton's); a new one by default. */
export function createExtractorMetrics(
  service: ServiceMetrics = createMetrics('extractor'),
): ExtractorMetrics {
  const m = declareMetrics(service, EXTRACTOR_METRICS);
  const seen = new WeakMap<object, HttpCounters>();
  const tokensSeen = new Map<string, number>();
  return {
    service,
    ...m,
    syncHttp(clientKey, sourceId, counters) {
      const before = seen.get(clientKey) ?? {
        requests: 0,
        retries: 0,
        rateLimited: 0,
        unauthorized: 0,
        tokenRefreshes: 0,
        throttledInARow: 0,
      };
      const labels = { source: sourceId };
      m.requests.inc(labels, counters.requests - before.requests);
      m.retries.inc(labels, counters.retries - before.retries);
      m.throttled.inc(labels, counters.rateLimited - before.rateLimited);
      seen.set(clientKey, counters);
    },
    syncTokens(sourceId, total) {
      m.tokenRefreshes.inc({ source: sourceId }, total - (tokensSeen.get(sourceId) ?? 0));
      tokensSeen.set(sourceId, total);
    },
  };
}
