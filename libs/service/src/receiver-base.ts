import { redisTls, type Env } from '@ehrflow/config';
import { createCodec, createRegistry, type Codec } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import type { Logger } from '@ehrflow/logging';
import { Redis } from 'ioredis';

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
  const transport = redisTls(options.env);
  if (transport.warning !== undefined) {
    const { warning } = transport;
    logger.warn({ client: warning.client, reason: warning.reason }, warning.message);
  }
  const redis = new Redis(options.redisUrl, {
    ...(transport.tls ? { tls: transport.tls } : {}),
    maxRetriesPerRequest: 2,
    lazyConnect: true,
    ...(options.autoPipelining === true ? { enableAutoPipelining: true } : {}),
  });
  closers.push(() => redis.quit());
  await redis.connect().catch((err: unknown) => {
    throw new PipelineError('REDIS_UNAVAILABLE', 'Redis could not be reached', { cause: err });
  });
  const registry = createRegistry({ url: options.registryUrl });
  closers.push(() => registry.close());
  const codec = createCodec(registry, {
    onRefreshError: (err, subject) =>
      logger.warn({ err, subject }, 'registry refresh failed; keeping the cached version'),
  });
  for (const subject of options.subjects) await codec.latestVersion(subject);
  return { redis, codec };
}
