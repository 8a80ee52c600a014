import { createHash } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import type { Redis } from 'ioredis';

/** Runs one Lua script atomically on Redis, by SHA when the server has it cached. */
export type RedisScript = (
  redis: Redis,
  keys: readonly string[],
  args: readonly (string | number)[],
) => Promise<unknown>;

/**
 * Wraps a Lua script: `EVALSHA` first, `EVAL` once on `NOSCRIPT` (after a Redis restart or on a
 * fresh server). Does not touch the shared client with `defineCommand`, so two modules cannot
 * collide on a command name. Redis failures become `REDIS_UNAVAILABLE` (transient).
 */
export function defineScript(lua: string): RedisScript {
  const sha = createHash('sha1').update(lua).digest('hex');
  return async (redis, keys, args) => {
    try {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.includes('NOSCRIPT')) throw err;
        return await redis.eval(lua, keys.length, ...keys, ...args);
      }
    } catch (err) {
      throw redisUnavailable(err);
    }
  };
}

/** Wraps a Redis client failure; the message of the cause is Redis's own, never record data. */
export function redisUnavailable(err: unknown): PipelineError {
  return new PipelineError('REDIS_UNAVAILABLE', 'a Redis command failed', { cause: err });
}

/** Keys carry source ids from configuration only; this keeps them to a safe alphabet. */
export function assertSourceId(sourceId: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(sourceId)) {
    throw new PipelineError('CONFIG_INVALID', 'source id must be 1-64 characters of [A-Za-z0-9._-]', {
      context: { length: sourceId.length },
    });
  }
}
