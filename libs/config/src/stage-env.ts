import { z } from 'zod';
import { positiveInt } from './common.ts';

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
 * A consumer stage (validator, redactor): its consumer group, delivery mode and the bounds of a
 * batch.
 */
export const consumerStageEnv = <const P extends string>(prefix: P, groupId: string) =>
  prefixedEnv(prefix, {
    GROUP_ID: z.string().min(1).default(groupId),
    /** Stable per replica: a restarted replica fences its previous self (transactional mode). */
    TRANSACTIONAL_ID: z.string().min(1).optional(),
    DELIVERY: z.enum(['at-least-once', 'transactional']).default('at-least-once'),
    MAX_BATCH: positiveInt(500),
    /**
     * Bytes of input records in flight: a fetch asks for at most this much, a chunk is cut at it,
     * and the next fetch waits until the batch is processed (metric `<stage>_consumer{stat="inFlightBytes"}`).
     */
    MAX_INFLIGHT_BYTES: positiveInt(4 * 1024 * 1024),
  });

/**
 * Worker threads for a stage's per-record CPU work; 0 runs it on the main thread. Outputs and
 * commits stay in input order per partition either way.
 */
export const workerEnv = <const P extends string>(prefix: P) =>
  prefixedEnv(prefix, {
    WORKERS: z.coerce.number().int().nonnegative().max(16).default(0),
    /** Old-generation heap limit of each worker thread, in MB (V8's default when unset); a worker beyond it exits and its chunk is retried. */
    WORKER_HEAP_MB: z.coerce.number().int().positive().optional(),
  });

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
