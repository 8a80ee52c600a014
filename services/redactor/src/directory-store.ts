import type { DirectoryStore } from '@ehrflow/deid';
import { PipelineError } from '@ehrflow/errors';
import type { Redis } from 'ioredis';

export interface RedisDirectoryStoreOptions {
  /** Key prefix, e.g. `ehrflow:redactor:directory:`; the rest of a key is a patient pseudonym. */
  readonly prefix: string;
  /** Expiry of a patient's set, refreshed whenever their Patient record adds to it. */
  readonly ttlSeconds: number;
}

/**
 * The shared patient directory's store in Redis: one set per patient (`<prefix><pseudonym>`) of
 * `KIND:digest` entries (see `createSharedPatientDirectory`). One pipelined round trip per
 * fetch or add; keys and members carry pseudonyms and keyed digests only.
 *
 * Errors become PipelineError REDIS_UNAVAILABLE (transient): the redactor's chunk is retried, so
 * an outage delays records instead of withholding their notes needlessly.
 */
export function createRedisDirectoryStore(redis: Redis, options: RedisDirectoryStoreOptions): DirectoryStore {
  const { prefix, ttlSeconds } = options;
  return {
    async fetch(keys) {
      if (keys.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.smembers(prefix + key);
      const results = await exec(pipeline, 'fetch', keys.length);
      return results.map(([, members]) => (Array.isArray(members) ? members.map(String) : []));
    },
    async add(entries) {
      if (entries.size === 0) return;
      const pipeline = redis.pipeline();
      for (const [key, members] of entries) {
        if (members.length === 0) continue;
        pipeline.sadd(prefix + key, ...members);
        pipeline.expire(prefix + key, ttlSeconds);
      }
      await exec(pipeline, 'add', entries.size);
    },
  };
}

async function exec(
  pipeline: ReturnType<Redis['pipeline']>,
  operation: 'fetch' | 'add',
  patients: number,
): Promise<[Error | null, unknown][]> {
  let results: [Error | null, unknown][] | null;
  try {
    results = await pipeline.exec();
  } catch (cause) {
    throw unavailable(operation, patients, cause);
  }
  const failed = results?.find(([err]) => err !== null);
  if (results === null || failed !== undefined) throw unavailable(operation, patients, failed?.[0]);
  return results;
}

function unavailable(operation: string, patients: number, cause: unknown): PipelineError {
  return new PipelineError('REDIS_UNAVAILABLE', `shared patient directory ${operation} failed`, {
    ...(cause instanceof Error ? { cause } : {}),
    context: { operation, patients },
  });
}
