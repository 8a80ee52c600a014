import { ConfigError, kafkaTls, loadConfigOrExit } from '@ehrflow/config';
import { createRegistryProbe } from '@ehrflow/contracts';
import { createKafkaProbe } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createDependencyChecks, createServiceHttp, runService } from '@ehrflow/service';
import { adminTokenFromEnv, registerAdminAuth } from './admin-auth.ts';
import { registerJobRoutes } from './admin-routes.ts';
import { buildExtractor } from './app.ts';
import { extractorEnv } from './config.ts';
import { createExtractorMetrics } from './metrics.ts';
import { startFailure } from './start-failure.ts';

const HELP = `Usage: node services/extractor/src/main.ts

Runs the extractor service: resumes jobs left running by a crashed replica, and serves on HTTP_PORT
  GET /healthz, GET /readyz, GET /metrics
  POST /jobs {source, kind: backfill|incremental, types?, since?}  → 202 with the job
  GET /jobs/:id                                                    → state, counts, errors by code
  DELETE /jobs/:id                                                 → cancel
  (/jobs needs Authorization: Bearer <EXTRACTOR_ADMIN_TOKEN(_FILE)> when that is set; 10 failures
  per address and minute → 429)

Configuration comes from the environment (see services/extractor/README.md and
docs/onboarding-a-source.md; a source without tokenUrl has it found by SMART discovery):
  EXTRACTOR_SOURCES_FILE, KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL, DATABASE_URL,
  PHI_KEYRING, PSEUDONYM_KEY, HTTP_PORT, LOG_LEVEL, EHRFLOW_MODE, and the EXTRACTOR_* tuning variables.
TLS in transit (plaintext outside EHRFLOW_MODE=development is logged as a warning):
  KAFKA_SSL, KAFKA_SSL_CA, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD(_FILE)
  REDIS_URL=rediss://... with REDIS_TLS_CA; DATABASE_URL with sslmode=verify-full and PG_SSL_CA
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}

const env = loadConfigOrExit(extractorEnv, 'extractor');
const logger = createLogger({ name: 'extractor', level: env.LOG_LEVEL });
const metrics = createExtractorMetrics();

await runService({
  name: 'extractor',
  logger,
  shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
  async start() {
    const extractor = await buildExtractor(env, logger, metrics).catch((err: unknown) => {
      // A bad sources file (or a token URL discovery could not find) is listed like a bad
      // environment, and exits 78 (EX_CONFIG) instead of 1.
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(startFailure(err));
      process.exit(78);
    });
    const http = createServiceHttp({
      name: 'extractor',
      port: env.HTTP_PORT,
      logger,
      readiness: () => extractor.ready(),
      registry: metrics.service.registry,
    });
    // `/readyz` also means "Kafka and the registry answer" (checked at most every 5 s).
    const kafkaTransport = kafkaTls(process.env);
    const dependencies = createDependencyChecks(
      {
        kafka: createKafkaProbe({
          brokers: env.KAFKA_BROKERS,
          clientId: `${env.KAFKA_CLIENT_ID ?? 'ehrflow-extractor'}-probe`,
          logger,
          mode: env.EHRFLOW_MODE,
          ...(kafkaTransport.ssl ? { ssl: kafkaTransport.ssl } : {}),
          ...(kafkaTransport.sasl ? { sasl: kafkaTransport.sasl } : {}),
        }),
        registry: createRegistryProbe({ url: env.SCHEMA_REGISTRY_URL }),
      },
      { logger },
    );
    dependencies.addTo(http);
    registerAdminAuth(http.app, { token: adminTokenFromEnv(process.env), logger, metrics: metrics.service });
    registerJobRoutes(http.app, extractor.jobs);
    await http.listen();
    extractor.jobs.run();
    return { stop: () => extractor.close().finally(() => dependencies.close()), http };
  },
});
