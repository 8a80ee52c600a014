/**
 * The loader service process: `node services/loader/src/main.ts` (configuration from the
 * environment, see `--help`). Health, readiness and Prometheus metrics on HTTP_PORT; drains on
 * SIGTERM (the batch in flight commits, then the process leaves the consumer group).
 */
import { kafkaTls, loadConfigOrExit } from '@ehrflow/config';
import { createRegistryProbe } from '@ehrflow/contracts';
import { createKafkaProbe } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createDependencyChecks, createMetrics, createServiceHttp, runService } from '@ehrflow/service';
import { createClients, loaderEnv } from './config.ts';
import { startLoader } from './loader.ts';

const HELP = `usage: node services/loader/src/main.ts

Loads ehr.clean.<Type> into PostgreSQL: one table per resource type, newest version wins,
ehr.clean.deletions as tombstones in the table of each deletion's type, rows and consumer
positions in one transaction. Exits non-zero when a registered clean schema
cannot be applied to its table (the message names table, column and change).

Environment:
  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, DATABASE_URL   (required)
  LOADER_DB_SCHEMA        database schema of the tables (default clean)
  LOADER_GROUP_ID         consumer group and key of the stored positions (default ehrflow-loader)
  LOADER_TOPIC_PREFIX     topics are <prefix><Type> and <prefix>deletions (default ehr.clean.)
  LOADER_RESOURCE_TYPES   comma-separated types (default: every contracted type)
  LOADER_WRITE_MODE       staging (COPY + merge, default) | multirow
  LOADER_MAX_BATCH        records per transaction (default 2000)
  LOADER_CONCURRENCY      partitions loaded at once (default 2)
  DATABASE_POOL_MAX       database connections (default 4)
  HTTP_PORT               health/readiness/metrics (default 8084)
  LOG_LEVEL, EHRFLOW_MODE, SHUTDOWN_TIMEOUT_MS, KAFKA_SSL*, KAFKA_SASL*, PG_SSL_CA`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`${HELP}\n`);
  process.exit(0);
}

const NAME = 'loader';
const config = loadConfigOrExit(loaderEnv, NAME);
const logger = createLogger({ name: NAME, level: config.LOG_LEVEL });

// The loader can fail on its own (an error it cannot retry) once started; that drains and exits 1.
let failedEarly = false;
let onLoaderFailed = (): void => {
  failedEarly = true;
};

const running = await runService({
  name: NAME,
  logger,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  start: async () => {
    const clients = createClients(config, process.env, logger, NAME);
    const metrics = createMetrics(NAME);
    const records = metrics.counter('loader_records_total', 'Clean records by outcome', [
      'resource_type',
      'outcome',
    ]);
    const batches = metrics.counter('loader_batches_total', 'Committed batch transactions', [
      'resource_type',
    ]);
    const batchSeconds = metrics.histogram('loader_batch_seconds', 'Batch transaction duration', [
      'resource_type',
    ]);
    const retries = metrics.gauge('loader_batch_retries', 'Batch attempts retried since start');
    try {
      const loader = await startLoader({
        kafka: clients.kafka,
        registry: clients.registry,
        pool: clients.pool,
        logger,
        schema: config.LOADER_DB_SCHEMA,
        groupId: config.LOADER_GROUP_ID,
        topicPrefix: config.LOADER_TOPIC_PREFIX,
        ...(config.LOADER_RESOURCE_TYPES ? { resourceTypes: config.LOADER_RESOURCE_TYPES } : {}),
        writeMode: config.LOADER_WRITE_MODE,
        maxBatch: config.LOADER_MAX_BATCH,
        concurrency: config.LOADER_CONCURRENCY,
        onBatch: (e) => {
          const resource_type = e.resourceType;
          for (const outcome of ['upserted', 'deleted', 'ignored', 'skipped', 'rejected'] as const) {
            if (e[outcome] > 0) records.inc({ resource_type, outcome }, e[outcome]);
          }
          batches.inc({ resource_type });
          batchSeconds.observe({ resource_type }, e.durationMs / 1000);
        },
      });
      const http = createServiceHttp({
        name: NAME,
        port: config.HTTP_PORT,
        logger,
        readiness: () => loader.ready(),
        registry: metrics.registry,
      });
      // `/readyz` also means "Kafka and the registry answer" (checked at most every 5 s).
      const kafkaTransport = kafkaTls(process.env);
      const dependencies = createDependencyChecks(
        {
          kafka: createKafkaProbe({
            brokers: config.KAFKA_BROKERS,
            clientId: `${config.KAFKA_CLIENT_ID ?? NAME}-probe`,
            logger,
            mode: config.EHRFLOW_MODE,
            ...(kafkaTransport.ssl ? { ssl: kafkaTransport.ssl } : {}),
            ...(kafkaTransport.sasl ? { sasl: kafkaTransport.sasl } : {}),
          }),
          registry: createRegistryProbe({ url: config.SCHEMA_REGISTRY_URL }),
        },
        { logger },
      );
      dependencies.addTo(http);
      const retryTimer = setInterval(() => retries.set({}, loader.counters().retries), 5_000);
      retryTimer.unref();
      await http.listen();
      // A loader that stops by itself (an error it cannot retry) takes the process down with it.
      loader.done.catch(() => onLoaderFailed());
      return {
        http,
        stop: async () => {
          clearInterval(retryTimer);
          try {
            await loader.stop();
          } finally {
            await Promise.all([clients.close(), dependencies.close()]);
          }
        },
      };
    } catch (err) {
      await clients.close();
      throw err;
    }
  },
});
onLoaderFailed = () => void running.shutdown('loader-failed', 1);
if (failedEarly) onLoaderFailed();
