/**
 * The redactor service: consumes `ehr.valid.<Type>`, produces de-identified `ehr.clean.<Type>`
 * (and `ehr.quarantine` for refused records), with /healthz, /readyz and /metrics.
 * Run `node services/redactor/src/main.ts --help`.
 */
import { kafkaTls, loadConfigOrExit } from '@ehrflow/config';
import { createRegistryProbe } from '@ehrflow/contracts';
import { createKafkaProbe } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createDependencyChecks, createMetrics, createServiceHttp, runService } from '@ehrflow/service';
import { redactorEnv } from './config.ts';
import { startRedactor } from './service.ts';

const HELP = `Usage: node services/redactor/src/main.ts

Runs the redactor: ehr.valid.<Type> → decrypt PHI fields → de-identify under the policy →
ehr.clean.<Type> (schema derived from the contract and the policy), or ehr.quarantine for a record
that cannot be processed; ehr.valid.deletions → logical id pseudonymised as the type's logicalId →
ehr.clean.deletions (topics: <prefix>deletions). Configuration comes from the environment only:

  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, PHI_KEYRING, PSEUDONYM_KEY   required
  HTTP_PORT (0 = any), LOG_LEVEL, EHRFLOW_MODE, SHUTDOWN_TIMEOUT_MS
  KAFKA_SSL, KAFKA_SSL_CA, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD(_FILE)
  REDACTOR_POLICY          safe-harbor (default) | limited-data-set | path to a policy JSON file
  REDACTOR_DELIVERY        at-least-once (default) | transactional
  REDACTOR_GROUP_ID, REDACTOR_TRANSACTIONAL_ID, REDACTOR_MAX_BATCH
  REDACTOR_VALID_TOPIC_PREFIX (ehr.valid.), REDACTOR_CLEAN_TOPIC_PREFIX (ehr.clean.)
  REDACTOR_QUARANTINE_TOPIC (ehr.quarantine), REDACTOR_RESOURCE_TYPES (comma list)
  REDACTOR_PATIENT_DIRECTORY_SIZE  patients remembered to scrub their names from other records'
                                   notes (default 100000; 0 = off: every non-Patient note withheld)
  REDIS_URL                        shares the directory across replicas and restarts as keyed
                                   digests (no PHI in Redis); unset = this process's memory only
  REDACTOR_DIRECTORY_KEY_PREFIX (ehrflow:redactor:directory:), REDACTOR_DIRECTORY_TTL_SECONDS (90 days)

Free text (notes) is published scrubbed — patterns, the patient's identifiers, and every person's
name (context, name dictionaries, capitalised words; see libs/deid/README.md) — only for records
whose patient the directory knows and whose residual risk is within the policy's threshold;
otherwise it becomes [WITHHELD] (ehrflow_redactor_free_text_withheld_total{type,reason}).

The service refuses to start when a key is missing, the policy does not compile against the
registered valid contracts, or a clean schema (deletions included) is not registered. Register the
clean schemas first:
  node services/redactor/src/cli.ts register-schemas [--policy P]
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}

const config = loadConfigOrExit(redactorEnv, 'redactor');
const logger = createLogger({ name: 'redactor', level: config.LOG_LEVEL });
const metrics = createMetrics('redactor');

const service = await runService({
  name: 'redactor',
  logger,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  async start() {
    const redactor = await startRedactor({ config, logger, metrics });
    const http = createServiceHttp({
      name: 'redactor',
      port: config.HTTP_PORT,
      logger,
      registry: metrics.registry,
      readiness: () => redactor.ready(),
    });
    // `/readyz` also means "Kafka and the registry answer" (checked at most every 5 s).
    const kafkaTransport = kafkaTls(process.env);
    const dependencies = createDependencyChecks(
      {
        kafka: createKafkaProbe({
          brokers: config.KAFKA_BROKERS,
          clientId: `${config.KAFKA_CLIENT_ID ?? 'ehrflow-redactor'}-probe`,
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
    const address = await http.listen();
    logger.info(
      { port: address.port, delivery: config.REDACTOR_DELIVERY, policy: redactor.plan.policy.name },
      'redactor started',
    );
    redactor.done.catch((err: unknown) => {
      logger.fatal({ err }, 'consumer failed permanently');
      void service.shutdown('consumer-failed', 1);
    });
    return { stop: () => redactor.stop().finally(() => dependencies.close()), http };
  },
});
