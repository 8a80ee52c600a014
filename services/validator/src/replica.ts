/**
 * What makes validator replicas correct side by side: a transactional id of their own, alert
 * de-duplication shared through Redis, so N replicas seeing one drift send one alert, and drift
 * counts summed in Redis, so a drift event counts what every replica saw.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '@ehrflow/logging';
import { connectRedis } from '@ehrflow/service';

/**
 * The transactional id of this replica: `VALIDATOR_TRANSACTIONAL_ID` when set (the Kubernetes
 * manifests derive it from the pod name), otherwise the group plus this host's name. Replicas
 * sharing one id fence each other: every new one aborts the others' transactions.
 * @see https://kafka.apache.org/documentation/#producerconfigs_transactional.id
 */
export function replicaTransactionalId(
  config: { readonly VALIDATOR_TRANSACTIONAL_ID?: string | undefined; readonly VALIDATOR_GROUP_ID: string },
  host: string = process.env.HOSTNAME ?? hostname(),
): string {
  return config.VALIDATOR_TRANSACTIONAL_ID ?? `${config.VALIDATOR_GROUP_ID}-tx-${host}`;
}

/** The one Redis command the claim needs (ioredis' `set`), so tests can give a small fake. */
export interface ClaimStore {
  set(key: string, value: string, px: 'PX', ms: number, nx: 'NX'): Promise<string | null>;
}

/** Grants a key to one replica for a time; the others are told it is taken. */
export type AlertClaim = (key: string, windowMs: number) => Promise<boolean>;

/**
 * An {@link AlertClaim} in Redis: `SET <prefix><sha256(key)> <replica> NX PX windowMs`. The key
 * names a (source, resource type) pair; only its hash reaches Redis. When Redis fails the claim
 * is granted: a duplicate alert is better than a lost one.
 */
export function createRedisAlertClaim(options: {
  readonly redis: ClaimStore;
  readonly prefix: string;
  readonly replica: string;
  readonly logger: Logger;
}): AlertClaim {
  return async (key, windowMs) => {
    const hashed = createHash('sha256').update(key).digest('hex').slice(0, 32);
    try {
      const ok = await options.redis.set(`${options.prefix}${hashed}`, options.replica, 'PX', windowMs, 'NX');
      return ok === 'OK';
    } catch (err) {
      options.logger.warn(
        { err: { name: (err as Error).name } },
        'alert claim in Redis failed; sending the alert',
      );
      return true;
    }
  };
}

/**
 * Adds `delta` to the count of a drift (by its event id) that all replicas share and returns the
 * total, or undefined when the store failed.
 */
export type SharedDriftCount = (eventId: string, delta: number) => Promise<number | undefined>;

/** The Redis commands the drift counter needs (ioredis' `multi`), so tests can give a small fake. */
export interface CounterStore {
  multi(): CounterTransaction;
}
export interface CounterTransaction {
  incrby(key: string, delta: number): CounterTransaction;
  pexpire(key: string, ms: number): CounterTransaction;
  exec(): Promise<[error: Error | null, result: unknown][] | null>;
}

/** How long a drift's shared count lives after its last addition. */
export const DRIFT_COUNT_TTL_MS = 30 * 24 * 3_600_000;

/**
 * A {@link SharedDriftCount} in Redis: `INCRBY <prefix><eventId> delta` and a refreshed expiry, in
 * one MULTI. The event id is already a hash of (source, type, field, kind).
 */
export function createRedisDriftCounter(options: {
  readonly redis: CounterStore;
  readonly prefix: string;
  readonly logger: Logger;
  readonly ttlMs?: number;
}): SharedDriftCount {
  return async (eventId, delta) => {
    const key = `${options.prefix}${eventId}`;
    try {
      const results = await options.redis
        .multi()
        .incrby(key, delta)
        .pexpire(key, options.ttlMs ?? DRIFT_COUNT_TTL_MS)
        .exec();
      const [error, total] = results?.[0] ?? [new Error('transaction discarded'), null];
      if (error !== null) throw error;
      return Number(total);
    } catch (err) {
      options.logger.warn(
        { err: { name: (err as Error).name } },
        'shared drift count in Redis failed; the event carries this replica’s count',
      );
      return undefined;
    }
  };
}

/** Redis for the state replicas share, when `REDIS_URL` is set; without it alerts de-duplicate per process. */
export async function openSharedAlertClaim(options: {
  readonly redisUrl: string | undefined;
  readonly groupId: string;
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
}): Promise<{ claim: AlertClaim; countDrift: SharedDriftCount; close(): Promise<void> } | undefined> {
  if (options.redisUrl === undefined) {
    options.logger.info('REDIS_URL not set: alert de-duplication is per replica');
    return undefined;
  }
  const redis = await connectRedis({
    url: options.redisUrl,
    env: options.env,
    logger: options.logger,
    purpose: 'alert de-duplication and drift counts',
  });
  return {
    claim: createRedisAlertClaim({
      redis,
      prefix: `ehrflow:${options.groupId}:alert:`,
      replica: process.env.HOSTNAME ?? hostname(),
      logger: options.logger,
    }),
    countDrift: createRedisDriftCounter({
      redis,
      prefix: `ehrflow:${options.groupId}:drift-count:`,
      logger: options.logger,
    }),
    async close() {
      await redis.quit().catch(() => undefined);
    },
  };
}
