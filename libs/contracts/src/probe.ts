import { z } from 'zod';
import { createRegistryHttp, type RegistryTransport } from './registry-http.ts';

export interface RegistryProbeOptions {
  /** Base URL of the Confluent-compatible API, as for `createRegistry` (credentials allowed). */
  readonly url: string;
  /** Connect, headers and body timeout of one probe. Default 1500 ms. */
  readonly timeoutMs?: number;
  /** CA and credentials, as for `createRegistry` (default: from the environment). */
  readonly transport?: RegistryTransport;
}

/** A reachability probe of the schema registry (fits `DependencyProbe` of `@ehrflow/service`). */
export interface RegistryProbe {
  /**
   * One `GET /config` round trip.
   * @throws PipelineError REGISTRY_UNAVAILABLE (unreachable, timed out, 5xx or an unexpected
   *   answer) or REGISTRY_REJECTED (e.g. 401: the credentials are refused).
   */
  probe(): Promise<void>;
  /** Closes the probe's connection pool. */
  close(): Promise<void>;
}

// The global compatibility level: the smallest answer the API has, and one every
// Confluent-compatible registry gives without a subject existing.
const configAnswer = z.object({ compatibilityLevel: z.string() });

/**
 * Creates a registry probe with its own small connection pool, so a probe never queues behind
 * the service's schema fetches.
 * @see https://docs.confluent.io/platform/current/schema-registry/develop/api.html#get--config
 */
export function createRegistryProbe(options: RegistryProbeOptions): RegistryProbe {
  const http = createRegistryHttp(options.url, options.timeoutMs ?? 1500, options.transport);
  return {
    async probe() {
      await http.call({ method: 'GET', path: '/config', about: 'readiness probe' }, configAnswer);
    },
    close: () => http.close(),
  };
}
