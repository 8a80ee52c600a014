import { booleanFlag, pipelineEnv, z } from '@ehrflow/config';

/**
 * Environment of the extractor. Shared pipeline settings plus the sources file, the state
 * database and the knobs tests turn (topic names, schema, lease, retry speed).
 */
export const extractorEnv = z.object({
  ...pipelineEnv,
  REDIS_URL: z.string().min(1),
  DATABASE_URL: z.string().min(1),
  /** JSON-lines file for job alerts (a job that ends partial); without it they are logged. */
  ALERT_FILE: z.string().min(1).optional(),
  /** JSON file describing every source site (see `sources.ts`). */
  EXTRACTOR_SOURCES_FILE: z.string().min(1),
  EXTRACTOR_RAW_TOPIC: z.string().min(1).default('ehr.raw'),
  EXTRACTOR_JOBS_TOPIC: z.string().min(1).default('ehr.jobs'),
  /** PostgreSQL schema of the job table; tests use a unique one. */
  EXTRACTOR_DB_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/)
    .default('extractor'),
  /** A running job whose owner has not renewed its lease for this long is taken over. */
  EXTRACTOR_LEASE_MS: z.coerce.number().int().min(500).default(30_000),
  /** Envelopes produced per Kafka send (and per checkpoint). */
  EXTRACTOR_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
  /**
   * Most bytes of resources in one export batch, whatever EXTRACTOR_BATCH_SIZE allows, so a file
   * of large resources (documents with inline attachments) stays bounded in memory until Kafka
   * acknowledges it. A resource larger than it goes in a batch of its own.
   */
  EXTRACTOR_BATCH_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /**
   * A ceiling on the resource size. The raw topic's `max.message.bytes` is read from the broker at
   * start, and a resource above it less 16 KiB (room for the envelope's fields), or above this
   * when set, counts as a `TOO_LARGE` error of its job and is not produced (the broker would
   * refuse it on every attempt and fail the job); the job ends `partial`. When the topic's limit
   * cannot be read: this, else 2 MiB − 16 KiB (deploy/topics gives the raw topic 2 MiB).
   */
  EXTRACTOR_MAX_RESOURCE_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .optional(),
  /**
   * A batch older than this is produced without waiting to fill: on a slow link, records would
   * otherwise wait for 500 siblings (seconds of latency, and a checkpoint further behind).
   */
  EXTRACTOR_BATCH_LINGER_MS: z.coerce.number().int().min(0).max(60_000).default(200),
  /** Interval of the periodic job events with counts. */
  EXTRACTOR_PROGRESS_INTERVAL_MS: z.coerce.number().int().min(100).default(10_000),
  /** Re-exports after an expired status URL or file, per job. */
  EXTRACTOR_MAX_EXPORT_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(3),
  /** Retries of one HTTP request or one file download on transient failures (429s are not counted). */
  EXTRACTOR_HTTP_RETRIES: z.coerce.number().int().min(0).max(20).default(6),
  /**
   * A job fails on rate limits only when it has produced no record for this long while the source
   * kept answering 429 (reason `rate_limited`, code `RATE_LIMIT_STALLED`); never on an attempt count.
   */
  EXTRACTOR_STALL_TIMEOUT_MS: z.coerce.number().int().min(100).default(1_800_000),
  /**
   * A request failing transiently (refused, reset, timed out, 5xx) is retried for at least this
   * long, even past `EXTRACTOR_HTTP_RETRIES`: a VPN link down for 30 s must cost a wait, not the
   * job (with full jitter, 6 retries alone were spent within about 4 s of a refused link).
   */
  EXTRACTOR_HTTP_RETRY_WINDOW_MS: z.coerce.number().int().min(0).default(120_000),
  /** Ceiling of one backoff wait (full jitter below it); Retry-After may ask for longer. */
  EXTRACTOR_RETRY_MAX_MS: z.coerce.number().int().min(1).default(30_000),
  /** Resume running jobs of a crashed replica (off for the one-shot CLI). */
  EXTRACTOR_RESUME_JOBS: booleanFlag(true),
});

export type ExtractorEnv = z.infer<typeof extractorEnv>;
