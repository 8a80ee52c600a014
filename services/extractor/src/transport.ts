import {
  ConfigError,
  kafkaTls,
  pgTls,
  redisTls,
  type ConfigProblem,
  type Env,
  type KafkaSaslOptions,
  type TlsVerifyOptions,
} from '@ehrflow/config';
import type { Logger } from '@ehrflow/logging';

/** How the extractor's Kafka, Redis and PostgreSQL clients connect (TLS when configured). */
export interface ExtractorTransport {
  /** Spread into `createKafka`: present keys only. */
  readonly kafka: { readonly ssl?: TlsVerifyOptions; readonly sasl?: KafkaSaslOptions };
  /** Spread into the ioredis options. */
  readonly redis: { readonly tls?: TlsVerifyOptions };
  /** Spread into the pg pool options; `connectionString` is `DATABASE_URL` without `sslmode`. */
  readonly pg: { readonly connectionString: string; readonly ssl?: TlsVerifyOptions };
}

/**
 * Reads the TLS settings of the three clients from the raw environment with `@ehrflow/config`
 * (`KAFKA_SSL*`, `KAFKA_SASL*`, `REDIS_URL` + `REDIS_TLS_CA`, `DATABASE_URL` `sslmode` +
 * `PG_SSL_CA`) and logs, at warn level, each client that stays plaintext outside development.
 * `kafkaWarned`: the Kafka warning was logged already (by the stage skeleton that made the client).
 * @throws ConfigError listing every inconsistent variable of the three clients by name.
 */
export function extractorTransport(env: Env, logger: Logger, kafkaWarned = false): ExtractorTransport {
  const problems: ConfigProblem[] = [];
  const kafka = collect(() => kafkaTls(env), problems);
  const redis = collect(() => redisTls(env), problems);
  const db = collect(() => pgTls(env), problems);
  if (kafka === undefined || redis === undefined || db === undefined) throw new ConfigError(problems);
  for (const warning of [kafkaWarned ? undefined : kafka.warning, redis.warning, db.warning]) {
    if (warning !== undefined)
      logger.warn({ client: warning.client, reason: warning.reason }, warning.message);
  }
  return {
    kafka: {
      ...(kafka.ssl ? { ssl: kafka.ssl } : {}),
      // The same object kafkaTls built: kafkajs keeps its authenticator on it.
      ...(kafka.sasl ? { sasl: kafka.sasl } : {}),
    },
    redis: redis.tls ? { tls: redis.tls } : {},
    pg: { connectionString: db.connectionString, ...(db.ssl ? { ssl: db.ssl } : {}) },
  };
}

/** Runs one helper, keeping its problems so that all three clients' problems are reported at once. */
function collect<T>(read: () => T, problems: ConfigProblem[]): T | undefined {
  try {
    return read();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // EHRFLOW_MODE is read by all three: list it once.
    for (const p of err.problems) {
      if (!problems.some((q) => q.variable === p.variable && q.reason === p.reason)) problems.push(p);
    }
    return undefined;
  }
}
