import { contractOf, type Baselines, type Contract, type RegisteredSchema } from '@ehrflow/contracts';
import { isPipelineError } from '@ehrflow/errors';
import { compileMapping, createFillRateTracker, type FillRateTracker, type Mapping } from '@ehrflow/fhir';

/** A contract version compiled for use: its mapping, its fields and its fill-rate tracker. */
export interface ActiveContract {
  readonly resourceType: string;
  readonly topic: string;
  readonly subject: string;
  readonly version: number;
  readonly contract: Contract;
  readonly mapping: Mapping;
  readonly fillRate: FillRateTracker;
}

/** What the cache needs of the registry-backed codec: the latest version, cached and refreshed. */
export interface LatestVersionSource {
  latestVersion(subject: string): Promise<RegisteredSchema>;
}

export interface ContractCacheOptions {
  readonly source: LatestVersionSource;
  /** `ehr.valid.` → topic `ehr.valid.Patient`, subject `ehr.valid.Patient-value`. */
  readonly validTopicPrefix: string;
  readonly resourceTypes: readonly string[];
  readonly fillRateWindow: number;
  /**
   * Accepted fill-rate baselines per source: when given, the expected rates (see
   * `createFillRateTracker`'s `expectedRates`); when absent, the contracts' `fillRate`.
   */
  readonly baselines?: Baselines;
  /** Told when a newly registered version does not compile; the previous version stays in use. */
  readonly onCompileError?: (err: unknown, subject: string, version: number) => void;
}

/**
 * The contract of each served resource type, always the latest registered version: every lookup
 * asks the codec (which caches and refreshes in the background), and a version not seen before is
 * compiled once. That is the steward workflow: register a new optional field and the running
 * validator maps it within one refresh period, without a restart or code change.
 */
export interface ContractCache {
  /** Whether the type is served at all (a type outside the list is `no_contract`, or `unknown_resource_type` when it is no R4 type). */
  serves(resourceType: string): boolean;
  /**
   * The active contract of a served type.
   * @throws PipelineError SCHEMA_NOT_REGISTERED, REGISTRY_UNAVAILABLE (from the registry), or
   *   CONTRACT_VIOLATION when no version of the subject compiles.
   */
  forType(resourceType: string): Promise<ActiveContract>;
}

export function createContractCache(options: ContractCacheOptions): ContractCache {
  const served = new Set(options.resourceTypes);
  const compiled = new Map<string, ActiveContract>();
  const failedVersions = new Map<string, number>();

  function compile(resourceType: string, topic: string, latest: RegisteredSchema): ActiveContract {
    const contract = contractOf(latest.text, `${latest.subject} v${latest.version}`);
    return {
      resourceType,
      topic,
      subject: latest.subject,
      version: latest.version,
      contract,
      mapping: compileMapping(contract),
      fillRate: createFillRateTracker(contract, {
        windowSize: options.fillRateWindow,
        ...(options.baselines === undefined
          ? {}
          : { expectedRates: (sourceId: string) => options.baselines?.ratesFor(sourceId, resourceType) }),
      }),
    };
  }

  return {
    serves: (resourceType) => served.has(resourceType),

    async forType(resourceType) {
      const topic = `${options.validTopicPrefix}${resourceType}`;
      const subject = `${topic}-value`;
      const latest = await options.source.latestVersion(subject);
      const current = compiled.get(subject);
      if (current?.version === latest.version) return current;
      // A version that failed to compile is not retried on every record.
      if (current !== undefined && failedVersions.get(subject) === latest.version) return current;
      try {
        const next = compile(resourceType, topic, latest);
        compiled.set(subject, next);
        return next;
      } catch (err) {
        if (!isPipelineError(err) || current === undefined) throw err;
        failedVersions.set(subject, latest.version);
        options.onCompileError?.(err, subject, latest.version);
        return current;
      }
    },
  };
}
