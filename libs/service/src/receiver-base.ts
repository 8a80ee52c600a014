import type { Env } from '@ehrflow/config';
import { createCodec, createRegistry, type Codec } from '@ehrflow/contracts';
import type { Logger } from '@ehrflow/logging';
import type { Redis } from 'ioredis';
import { connectRedis } from './transport.ts';

export interface ReceiverBaseOptions {
  readonly redisUrl: string;
  readonly registryUrl: string;
  /** What `redisTls` reads (REDIS_TLS_CA); its plaintext warning is logged here. */
  readonly env: Env;
  readonly logger: Logger;
  /** Subjects that must be registered before the receiver takes anything in. */
  readonly subjects: readonly string[];
  /** Redis auto-pipelining (many small writes per event-loop turn). */
  readonly autoPipelining?: boolean;
  /** Where the closers of what was opened go, in opening order, also when a later step fails. */
  readonly closers: (() => Promise<unknown>)[];
}

/**
 * What a receiver of outside data (MLLP, billing files) opens before it listens: a connected
 * Redis for its checkpoints and duplicate window, and a registry codec with its subjects checked.
 * @throws PipelineError REDIS_UNAVAILABLE, SCHEMA_NOT_REGISTERED, REGISTRY_UNAVAILABLE
 */
export async function openReceiverBase(
  options: ReceiverBaseOptions,
): Promise<{ redis: Redis; codec: Codec }> {
  const { logger, closers } = options;
  const redis = await connectRedis({
    url: options.redisUrl,
    env: options.env,
    logger,
    purpose: 'checkpoints and the duplicate window',
    ...(options.autoPipelining === true ? { autoPipelining: true } : {}),
  });
  closers.push(() => redis.quit());
  const registry = createRegistry({ url: options.registryUrl });
  closers.push(() => registry.close());
  const codec = createCodec(registry, {
    onRefreshError: (err, subject) =>
      logger.warn({ err, subject }, 'registry refresh failed; keeping the cached version'),
  });
  for (const subject of options.subjects) await codec.latestVersion(subject);
  return { redis, codec };
}
