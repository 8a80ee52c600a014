import { z } from 'zod';

/** Reusable variable schemas, so every service reads shared settings the same way. */

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

/** A whole number of at least 1 (a count, a size, a duration), `fallback` when unset. */
export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** A whole number of at least 0, `fallback` when unset. */
export const nonNegativeInt = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

/** A source id as envelopes carry it (and metric labels and Redis keys repeat it). */
export const sourceId = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/);

/** A comma-separated list with at least one non-blank entry (`"a, b"` → `["a", "b"]`). */
export const csv = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x.length > 0),
  )
  .pipe(z.array(z.string()).min(1));

export const booleanFlag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const logLevel = z
  .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  .default('info');

export const mode = z.enum(['development', 'production', 'test']).default('production');

/** Kafka, registry and crypto settings that every pipeline service shares. */
export const pipelineEnv = {
  EHRFLOW_MODE: mode,
  LOG_LEVEL: logLevel,
  KAFKA_BROKERS: csv,
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  KAFKA_SSL: booleanFlag(false),
  KAFKA_SSL_CA: z.string().optional(),
  /** mTLS client certificate and key: each a path to a PEM file or the PEM itself. */
  KAFKA_SSL_CERT: z.string().optional(),
  KAFKA_SSL_KEY: z.string().optional(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  SCHEMA_REGISTRY_URL: z.url(),
  /** The registry's CA (path or PEM) and basic-auth credentials (or their `*_FILE`); see registryTransport. */
  SCHEMA_REGISTRY_CA: z.string().optional(),
  SCHEMA_REGISTRY_USERNAME: z.string().optional(),
  SCHEMA_REGISTRY_PASSWORD: z.string().optional(),
  /** Keyring: `kid1:base64key,kid2:base64key`; the last entry is the one new writes use. */
  PHI_KEYRING: z.string().min(1),
  /** Secret for keyed pseudonyms (HMAC-SHA256), base64, at least 32 bytes. */
  PSEUDONYM_KEY: z.string().min(1),
  HTTP_PORT: port(0),
  SHUTDOWN_TIMEOUT_MS: positiveInt(15_000),
};
