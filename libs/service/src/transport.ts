import { redisTls, type Env, type TlsWarning } from '@ehrflow/config';
import { PipelineError } from '@ehrflow/errors';
import type { Logger } from '@ehrflow/logging';
import { Redis } from 'ioredis';
import { waitAtStart, type StartWaitOptions } from './start-wait.ts';

/**
 * Logs a transport warning of `@ehrflow/config` (`kafkaTls`, `redisTls`, `pgTls`) at warn level:
 * the client and the reason, never a URL. Whoever reads a transport for a process logs it, once.
 */
export function logTransportWarning(logger: Logger, warning: TlsWarning | undefined): void {
  if (warning !== undefined) logger.warn({ client: warning.client, reason: warning.reason }, warning.message);
}

export interface RedisConnectOptions {
  /** The validated `REDIS_URL`. */
  readonly url: string;
  /** What `redisTls` reads (`REDIS_URL` scheme, `REDIS_TLS_CA`). */
  readonly env: Env;
  readonly logger: Logger;
  /** What the connection is for, in the REDIS_UNAVAILABLE message (`the shared patient directory`). */
  readonly purpose: string;
  /** False when the caller logged the Redis transport warning already (the extractor reads all three transports at once). */
  readonly warn?: boolean;
  /** Defaults to 2: a command fails (and surfaces REDIS_UNAVAILABLE to its caller) after two reconnects. */
  readonly maxRetriesPerRequest?: number;
  /** Redis auto-pipelining (many small writes per event-loop turn). */
  readonly autoPipelining?: boolean;
  /** How long an unreachable Redis is waited for (`waitAtStart`); `START_WAIT_MS` by default. */
  readonly startWait?: Omit<StartWaitOptions, 'logger'>;
}

/**
 * The one Redis factory: TLS from `redisTls` of `@ehrflow/config` (its plaintext warning logged
 * unless `warn` is false), connected before it is returned. It is called at start-up: a Redis that
 * does not answer is waited for (`waitAtStart`) before REDIS_UNAVAILABLE is thrown.
 * @throws ConfigError from `redisTls`; PipelineError REDIS_UNAVAILABLE when no connection is made.
 */
export async function connectRedis(options: RedisConnectOptions): Promise<Redis> {
  const transport = redisTls(options.env);
  if (options.warn !== false) logTransportWarning(options.logger, transport.warning);
  return waitAtStart('redis', () => connectOnce(options, transport.tls), {
    logger: options.logger,
    ...options.startWait,
  });
}

async function connectOnce(
  options: RedisConnectOptions,
  tls: ReturnType<typeof redisTls>['tls'],
): Promise<Redis> {
  const redis = new Redis(options.url, {
    ...(tls ? { tls } : {}),
    maxRetriesPerRequest: options.maxRetriesPerRequest ?? 2,
    lazyConnect: true,
    ...(options.autoPipelining === true ? { enableAutoPipelining: true } : {}),
  });
  // Connection errors surface through commands (REDIS_UNAVAILABLE) and readiness; ioredis would
  // otherwise print each one to the console, past the logger.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (cause) {
    redis.disconnect();
    throw new PipelineError('REDIS_UNAVAILABLE', `Redis could not be reached for ${options.purpose}`, {
      cause,
    });
  }
  return redis;
}
