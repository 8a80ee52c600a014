import { PipelineError } from '@ehrflow/errors';

/**
 * The dedupe window shared by every replica: which message identities are already durable on
 * `ehr.raw`. Keys are keyed digests (`identityDigest`), never ids or values.
 */
export interface DedupeWindow {
  /** For each digest, whether it was written before (within the window). */
  seen(digests: readonly string[]): Promise<boolean[]>;
  /** Marks digests as written; call only after the write is acknowledged by Kafka. */
  remember(digests: readonly string[]): Promise<void>;
}

/** The Redis commands used (ioredis' `Redis` fits; tests pass a small fake). */
export interface DedupeRedis {
  mget(...keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
}

export const DEDUPE_PREFIX = 'ehrflow:mllp:seen:';

/**
 * A Redis window: `SET <prefix><digest> 1 PX window` after the durable write, `MGET` before it.
 * A duplicate that races its original on two replicas is written twice with one record id, which
 * downstream upserts absorb; the window only spares the pipeline the routine resends.
 */
export function createRedisDedupe(redis: DedupeRedis, windowMs: number): DedupeWindow {
  return {
    async seen(digests) {
      if (digests.length === 0) return [];
      try {
        const values = await redis.mget(...digests.map((d) => DEDUPE_PREFIX + d));
        return values.map((v) => v !== null);
      } catch (err) {
        throw new PipelineError('REDIS_UNAVAILABLE', 'dedupe window could not be read', { cause: err });
      }
    },
    async remember(digests) {
      if (digests.length === 0) return;
      // Plain commands, not a pipeline per call: with ioredis' auto-pipelining every command of an
      // event-loop turn (the marks and look-ups of all connections) goes out in one write. A
      // profile showed one socket write per message as the receiver's largest CPU cost. Order on
      // the connection is still call order, so a later look-up sees an earlier mark.
      try {
        await Promise.all(digests.map((d) => redis.set(DEDUPE_PREFIX + d, '1', 'PX', windowMs)));
      } catch (err) {
        throw new PipelineError('REDIS_UNAVAILABLE', 'dedupe window could not be written', { cause: err });
      }
    },
  };
}
