import { csv, kafkaTls, pgTls, pipelineEnv, port, positiveInt, z, type Env } from '@ehrflow/config';
import { createRegistry, type SchemaRegistry } from '@ehrflow/contracts';
import type { KafkaClient } from '@ehrflow/kafka';
import { createStageKafka } from '@ehrflow/service';
import type { Logger } from '@ehrflow/logging';
import pg from 'pg';
import { WRITE_MODES } from './writers.ts';

/** The loader's environment (validated with zod at start; every problem listed). */
export const loaderEnv = z
  .object(pipelineEnv)
  // The loader reads no PHI and holds no keys: the shared keyring and pseudonym key are left out.
  .omit({ PHI_KEYRING: true, PSEUDONYM_KEY: true })
  .extend({
    DATABASE_URL: z.string().min(1),
    HTTP_PORT: port(8084),
    /** Database schema of the resource tables and the loader's bookkeeping. */
    LOADER_DB_SCHEMA: z
      .string()
      .regex(/^[a-z_][a-z0-9_]{0,62}$/)
      .default('clean'),
    LOADER_GROUP_ID: z.string().min(1).default('ehrflow-loader'),
    LOADER_TOPIC_PREFIX: z.string().min(1).default('ehr.clean.'),
    /** Comma-separated resource types; default: every contracted type. */
    LOADER_RESOURCE_TYPES: csv.optional(),
    LOADER_WRITE_MODE: z.enum(WRITE_MODES).default('staging'),
    LOADER_MAX_BATCH: positiveInt(2000),
    LOADER_CONCURRENCY: positiveInt(2),
    DATABASE_POOL_MAX: positiveInt(4),
  });

export type LoaderConfig = z.infer<typeof loaderEnv>;

/** Clients the loader and its commands share, made from configuration. */
export interface LoaderClients {
  readonly kafka: KafkaClient;
  readonly registry: SchemaRegistry;
  readonly pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * Creates the Kafka client (TLS/SASL from `kafkaTls`, unless the stage skeleton's client is
 * given), the registry client and the database pool (TLS from `sslmode`). Plaintext outside
 * development is logged as a warning (Kafka's by whoever made the client).
 */
export function createClients(
  config: LoaderConfig,
  env: Env,
  logger: Logger,
  clientId: string,
  kafkaClient?: KafkaClient,
): LoaderClients {
  const kTls = kafkaClient === undefined ? kafkaTls(env) : undefined;
  const dbTls = pgTls(env);
  for (const warning of [kTls?.warning, dbTls.warning]) {
    if (warning !== undefined)
      logger.warn({ client: warning.client, reason: warning.reason }, warning.message);
  }
  const kafka =
    kafkaClient ??
    createStageKafka(config, { logger, defaultClientId: clientId, ...(kTls ? { transport: kTls } : {}) });
  const registry = createRegistry({ url: config.SCHEMA_REGISTRY_URL });
  const pool = new pg.Pool({
    connectionString: dbTls.connectionString,
    ...(dbTls.ssl ? { ssl: dbTls.ssl } : {}),
    max: config.DATABASE_POOL_MAX,
    connectionTimeoutMillis: 10_000,
    application_name: clientId,
  });
  // An idle client losing its connection must not crash the process; the next checkout reconnects.
  pool.on('error', (err) => logger.warn({ err: { name: err.name } }, 'idle database connection lost'));
  return {
    kafka,
    registry,
    pool,
    async close() {
      await Promise.allSettled([pool.end(), registry.close()]);
    },
  };
}
