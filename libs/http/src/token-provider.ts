import { randomUUID } from 'node:crypto';
import { isPipelineError } from '@ehrflow/errors';
import type { Redis } from 'ioredis';
import { silentLogger, type HttpLogger } from './logger.ts';
import { assertSourceId, defineScript, redisUnavailable } from './redis-script.ts';
import { sleep } from '@ehrflow/resilience';
import { createTokenRequester, type IssuedToken, type TokenEndpointOptions } from './token-endpoint.ts';

/** Encrypts tokens before they are shared through Redis; without it tokens never leave the process. */
export interface TokenCipher {
  encrypt(plain: string): string | Promise<string>;
  decrypt(sealed: string): string | Promise<string>;
}

/** The token endpoint settings, plus refresh and cross-replica coordination. Redis keys are `ehrflow:tok:<sourceId>[:lock]`. */
export interface TokenProviderOptions extends TokenEndpointOptions {
  /**
   * Refresh this long before expiry. Default 30 s; at most a quarter of the token lifetime, so a
   * 5-second token serves 3.75 s (16 token requests a minute, under a typical 20/min gateway limit)
   * instead of being refreshed on every call.
   */
  readonly skewMs?: number;
  /** Coordinates refreshes across replicas. Without it, refreshes are single-flight per process only. */
  readonly redis?: Redis;
  /** Lifetime of the cross-replica refresh lock. Default 15 s. */
  readonly lockTtlMs?: number;
  /** How often a replica checks whether another replica's refresh is done. Default 50 ms. */
  readonly lockPollMs?: number;
  /** When given (with `redis`), the refreshed token is shared, encrypted, with the other replicas. */
  readonly cipher?: TokenCipher;
  readonly logger?: HttpLogger;
}

/** One per source: hands out a valid access token and refreshes it before it expires. */
export interface TokenProvider {
  getToken(): Promise<string>;
  /** The source refused this token (401): forget it so the next `getToken` refreshes. */
  invalidate(token: string): void;
  /** Token requests this instance has sent, for metrics. */
  refreshes(): number;
}

// KEYS: key. ARGV: expected value. Deletes the key only if it still holds that value: a lock only
// by its owner, a shared token only if no replica replaced it meanwhile.
const DELETE_IF_EQUALS = defineScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`);

/**
 * Creates the token provider of one source (SMART Backend Services, client_credentials grant).
 *
 * - Proactive refresh: a token within `skewMs` of expiry is replaced before it is handed out.
 * - Single-flight in process: concurrent callers share one in-flight refresh.
 * - Single-flight across replicas (with `redis`): the refresh runs under the lock
 *   `ehrflow:tok:<sourceId>:lock` (SET NX PX, released only by its owner). With a `cipher`, the
 *   token is shared encrypted under `ehrflow:tok:<sourceId>` so the other replicas reuse it;
 *   without one, tokens never go to Redis and the lock only serialises the replicas' refreshes.
 *   If Redis fails, the refresh goes ahead uncoordinated (logged): availability over tidiness.
 * - Failures are those of `createTokenRequester` (`AUTH_REJECTED`, `HTTP_TRANSIENT`, …). The
 *   provider does not retry by itself: the caller's retry loop does.
 *
 * @see https://hl7.org/fhir/uv/bulkdata/authorization/
 */
export function createTokenProvider(options: TokenProviderOptions): TokenProvider {
  assertSourceId(options.sourceId);
  const now = options.now ?? Date.now;
  const skewMs = options.skewMs ?? 30_000;
  const lockTtlMs = options.lockTtlMs ?? 15_000;
  const lockPollMs = options.lockPollMs ?? 50;
  const logger = options.logger ?? silentLogger;
  const cacheKey = `ehrflow:tok:${options.sourceId}`;
  const lockKey = `${cacheKey}:lock`;
  const logContext = { sourceId: options.sourceId };
  const requestOnce = createTokenRequester(options);

  let held: IssuedToken | undefined;
  let inflight: Promise<string> | undefined;
  let refused: string | undefined;
  let requests = 0;

  const isFresh = (t: IssuedToken): boolean => {
    const skew = Math.min(skewMs, (t.expiresAt - t.issuedAt) / 4);
    return t.token !== refused && now() < t.expiresAt - skew;
  };

  const requestToken = async (): Promise<IssuedToken> => {
    requests++;
    return requestOnce();
  };

  const readShared = async (redis: Redis): Promise<IssuedToken | undefined> => {
    if (options.cipher === undefined) return undefined;
    const sealed = await viaRedis(redis.get(cacheKey));
    if (sealed === null) return undefined;
    try {
      const t = parseHeld(await options.cipher.decrypt(sealed));
      return t !== undefined && isFresh(t) ? t : undefined;
    } catch {
      logger.warn(logContext, 'shared access token could not be decrypted; refreshing');
      return undefined;
    }
  };

  const writeShared = async (redis: Redis, t: IssuedToken): Promise<void> => {
    if (options.cipher === undefined) return;
    const ttl = Math.max(1, Math.floor(t.expiresAt - now()));
    await redis.set(cacheKey, await options.cipher.encrypt(JSON.stringify(t)), 'PX', ttl);
  };

  const refreshCoordinated = async (redis: Redis): Promise<IssuedToken> => {
    const giveUpAt = Date.now() + 2 * lockTtlMs;
    for (;;) {
      const shared = await readShared(redis);
      if (shared !== undefined) return shared;
      const owner = randomUUID();
      if ((await viaRedis(redis.set(lockKey, owner, 'PX', lockTtlMs, 'NX'))) === 'OK') {
        try {
          // Another replica may have finished its refresh between our read and our lock.
          const again = await readShared(redis);
          if (again !== undefined) return again;
          const fresh = await requestToken();
          await writeShared(redis, fresh).catch(() =>
            logger.warn(logContext, 'could not share the access token'),
          );
          return fresh;
        } finally {
          await DELETE_IF_EQUALS(redis, [lockKey], [owner]).catch(() => undefined);
        }
      }
      if (Date.now() >= giveUpAt) {
        logger.warn(logContext, 'token refresh lock held too long; refreshing without it');
        return requestToken();
      }
      await sleep(lockPollMs);
    }
  };

  const refresh = async (): Promise<string> => {
    const { redis } = options;
    let t: IssuedToken;
    if (redis === undefined) {
      t = await requestToken();
    } else {
      try {
        t = await refreshCoordinated(redis);
      } catch (err) {
        if (!isPipelineError(err) || err.code !== 'REDIS_UNAVAILABLE') throw err;
        logger.warn(logContext, 'Redis unavailable for token coordination; refreshing without it');
        t = await requestToken();
      }
    }
    held = t;
    return t.token;
  };

  const forgetShared = async (redis: Redis, token: string): Promise<void> => {
    const sealed = await redis.get(cacheKey);
    if (sealed === null || options.cipher === undefined) return;
    if (parseHeld(await options.cipher.decrypt(sealed))?.token === token) {
      await DELETE_IF_EQUALS(redis, [cacheKey], [sealed]);
    }
  };

  return {
    getToken() {
      if (held !== undefined && isFresh(held)) return Promise.resolve(held.token);
      inflight ??= refresh().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    invalidate(token) {
      refused = token;
      if (held?.token === token) held = undefined;
      if (options.redis !== undefined && options.cipher !== undefined) {
        forgetShared(options.redis, token).catch(() =>
          logger.debug(logContext, 'could not drop the shared access token'),
        );
      }
    },
    refreshes: () => requests,
  };
}

function parseHeld(text: string): IssuedToken | undefined {
  let v: { token?: unknown; issuedAt?: unknown; expiresAt?: unknown } | null;
  try {
    v = JSON.parse(text) as typeof v;
  } catch {
    return undefined;
  }
  if (typeof v?.token !== 'string' || typeof v.issuedAt !== 'number' || typeof v.expiresAt !== 'number') {
    return undefined;
  }
  return { token: v.token, issuedAt: v.issuedAt, expiresAt: v.expiresAt };
}

/** Marks a failed Redis command so the refresh can fall back to running uncoordinated. */
async function viaRedis<T>(command: Promise<T>): Promise<T> {
  try {
    return await command;
  } catch (err) {
    throw redisUnavailable(err);
  }
}
