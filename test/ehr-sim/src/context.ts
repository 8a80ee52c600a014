import type { AuthServer } from './auth.ts';
import type { FhirResource } from './clinical-resources.ts';
import type { Counters } from './counters.ts';
import type { ExportJobs } from './export-jobs.ts';
import type { FaultInjector } from './faults.ts';
import type { ResourceGenerator } from './generator.ts';
import type { ResolvedOptions } from './options.ts';
import type { RateLimiter } from './rate-limiter.ts';

/** The state every route plugin shares. One per simulator instance. */
export interface SimContext {
  readonly options: ResolvedOptions;
  readonly generator: ResourceGenerator;
  readonly auth: AuthServer;
  readonly faults: FaultInjector;
  readonly counters: Counters;
  readonly limiter: RateLimiter;
  readonly jobs: ExportJobs;
  now(): number;
  /** Awaited before NDJSON lines go out: the `servedLinesPerSecond` fault (a slow link). */
  pace(lines: number): Promise<void>;
  /** Passes a resource on its way to a client: counts it and applies active drift rules. */
  serve(resource: FhirResource): FhirResource;
  /**
   * Counts a resource of the type on its way to a client when no drift rule names the type, and
   * says so (its line can then be served as rendered); false, counting nothing, otherwise.
   */
  servePlain(resourceType: string): boolean;
}
