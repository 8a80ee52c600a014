import { z } from 'zod';
import { csv, pipelineEnv, positiveInt } from './common.ts';
import { loadConfig, type Env } from './env.ts';

/**
 * Variables several services read, each under its own prefix (`VALIDATOR_MAX_BATCH`,
 * `REDACTOR_MAX_BATCH`): one declaration of their meaning, bounds and defaults.
 */

/** `fields` with every key prefixed `<prefix>_`. */
export type PrefixedEnv<P extends string, T> = { [K in keyof T & string as `${P}_${K}`]: T[K] };

export function prefixedEnv<const P extends string, const T extends Record<string, z.ZodType>>(
  prefix: P,
  fields: T,
): PrefixedEnv<P, T> {
  return Object.fromEntries(
    Object.entries(fields).map(([key, schema]) => [`${prefix}_${key}`, schema]),
  ) as PrefixedEnv<P, T>;
}

/**
 * Worker threads for a stage's per-record CPU work; 0 runs it on the main thread. Outputs and
 * commits stay in input order per partition either way.
 */
const workerFields = {
  WORKERS: z.coerce.number().int().nonnegative().max(16).default(0),
  /** Old-generation heap limit of each worker thread, in MB (V8's default when unset); a worker beyond it exits and its chunk is retried. */
  WORKER_HEAP_MB: z.coerce.number().int().positive().optional(),
};

/** What a consumer stage's fragment is given: its default group and the resource types it serves by default. */
export interface ConsumerStageDefaults {
  readonly groupId: string;
  /** Every contracted type, as a rule (`@ehrflow/contracts/manifest` RESOURCE_TYPES). */
  readonly resourceTypes: readonly string[];
}

const RESOURCE_TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;

/**
 * A per-type consumer stage (validator, redactor): the pipeline's variables (`pipelineEnv`) and,
 * under the stage's prefix, its consumer group, delivery mode, the bounds
 * of a batch, its worker threads, the resource types it serves and the topics every such stage
 * shares (`ehr.valid.<Type>`, `ehr.quarantine`).
 */
export const consumerStageEnv = <const P extends string>(prefix: P, defaults: ConsumerStageDefaults) => ({
  ...pipelineEnv,
  ...prefixedEnv(prefix, {
    GROUP_ID: z.string().min(1).default(defaults.groupId),
    /** Stable per replica: a restarted replica fences its previous self (transactional mode). */
    TRANSACTIONAL_ID: z.string().min(1).optional(),
    DELIVERY: z.enum(['at-least-once', 'transactional']).default('at-least-once'),
    MAX_BATCH: positiveInt(500),
    /**
     * Bytes of input records in flight: a fetch asks for at most this much, a chunk is cut at it,
     * and the next fetch waits until the batch is processed (metric `<stage>_consumer{stat="inFlightBytes"}`).
     */
    MAX_INFLIGHT_BYTES: positiveInt(4 * 1024 * 1024),
    /**
     * A ceiling on the output record size (key, value, headers). Each output topic's own limit is
     * read from the broker (`max.message.bytes` less 16 KiB); a larger record is quarantined
     * (`too_large`) instead of being refused by the broker on every attempt. Unset: the topics'
     * limits alone (1 MiB − 16 KiB for a topic whose limit cannot be read).
     */
    MAX_OUTPUT_BYTES: z.coerce.number().int().positive().optional(),
    ...workerFields,
    /** Comma-separated FHIR resource type names the stage serves. */
    RESOURCE_TYPES: csv
      .pipe(z.array(z.string().regex(RESOURCE_TYPE_NAME, 'must be FHIR resource type names')))
      .default([...defaults.resourceTypes]),
    /**
     * `ehr.valid.<Type>` is this prefix plus the resource type (the contract subject adds
     * `-value`); DELETE envelopes travel on this prefix plus `deletions`.
     */
    VALID_TOPIC_PREFIX: z.string().min(1).default('ehr.valid.'),
    QUARANTINE_TOPIC: z.string().min(1).default('ehr.quarantine'),
  }),
});

/** The topics every per-type consumer stage names (from `consumerStageEnv`). */
export interface ConsumerStageTopics {
  /** `ehr.valid.<Type>` is this prefix plus the resource type. */
  readonly validPrefix: string;
  readonly quarantine: string;
}

/** The shared topics of a consumer stage's validated configuration. */
export function consumerStageTopics<P extends string>(
  prefix: P,
  config: Readonly<Record<`${P}_VALID_TOPIC_PREFIX` | `${P}_QUARANTINE_TOPIC`, string>>,
): ConsumerStageTopics {
  return {
    validPrefix: config[`${prefix}_VALID_TOPIC_PREFIX`],
    quarantine: config[`${prefix}_QUARANTINE_TOPIC`],
  };
}

/**
 * A per-type consumer stage's whole configuration: `consumerStageEnv` under `prefix` plus the
 * stage's own variables, the loader of its environment and its shared topics.
 */
export function consumerStageConfig<const P extends string, const T extends z.ZodRawShape>(
  prefix: P,
  defaults: ConsumerStageDefaults,
  own: T,
) {
  const env = z.object({ ...consumerStageEnv(prefix, defaults), ...own });
  type Config = z.infer<typeof env>;
  return {
    env,
    /** Reads and validates the environment; throws ConfigError listing every problem. */
    load: (raw: Env): Config => loadConfig(env, raw),
    topics: (config: Config): ConsumerStageTopics =>
      consumerStageTopics(
        prefix,
        config as unknown as Record<`${P}_VALID_TOPIC_PREFIX` | `${P}_QUARANTINE_TOPIC`, string>,
      ),
  };
}

/**
 * A receiver (MLLP, X12 files): how long an identity is remembered for dedupe, the topics it
 * writes and its transactional id.
 */
export const receiverStageEnv = <const P extends string>(prefix: P, dedupeWindowMs: number) =>
  prefixedEnv(prefix, {
    /** How long a message (transaction set) identity and a file checkpoint are remembered: resends after a lost ACK. */
    DEDUPE_WINDOW_MS: positiveInt(dedupeWindowMs),
    RAW_TOPIC: z.string().min(1).default('ehr.raw'),
    QUARANTINE_TOPIC: z.string().min(1).default('ehr.quarantine'),
    /** Transactional id of the producer (a batch is one Kafka transaction); stable per replica. */
    TRANSACTIONAL_ID: z.string().min(1).optional(),
  });
