/**
 * The validator service: consumes `ehr.raw`, produces `ehr.valid.<Type>`, `ehr.quarantine` and
 * `ehr.drift`, with /healthz, /readyz and /metrics. Run `node services/validator/src/main.ts --help`.
 */
import { kafkaTls, loadConfigOrExit } from '@ehrflow/config';
import { createRegistryProbe } from '@ehrflow/contracts';
import { createKafkaProbe } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createDependencyChecks, createMetrics, createServiceHttp, runService } from '@ehrflow/service';
import { validatorEnv } from './config.ts';
import { startValidator } from './service.ts';

const HELP = `Usage: node services/validator/src/main.ts

Runs the validator: ehr.raw → decrypt → parse → map to the latest registered contract →
ehr.valid.<Type> (PHI fields encrypted) or ehr.quarantine; DELETE envelopes → ehr.valid.deletions
(logical id encrypted); drift events to ehr.drift; alerts to ALERT_WEBHOOK_URL and/or ALERT_FILE.
Configuration comes from the environment only:

  KAFKA_BROKERS, SCHEMA_REGISTRY_URL, PHI_KEYRING, PSEUDONYM_KEY   required
  HTTP_PORT (0 = any), LOG_LEVEL, EHRFLOW_MODE, SHUTDOWN_TIMEOUT_MS
  VALIDATOR_DELIVERY at-least-once | transactional (default at-least-once)
  VALIDATOR_GROUP_ID, VALIDATOR_TRANSACTIONAL_ID, VALIDATOR_MAX_BATCH
  VALIDATOR_RAW_TOPIC, VALIDATOR_VALID_TOPIC_PREFIX (deletions: <prefix>deletions)
  VALIDATOR_QUARANTINE_TOPIC, VALIDATOR_DRIFT_TOPIC
  VALIDATOR_RESOURCE_TYPES (comma list), VALIDATOR_SCHEMA_REFRESH_MS, VALIDATOR_MAX_PAYLOAD_BYTES
  VALIDATOR_FILL_RATE_WINDOW, VALIDATOR_DRIFT_REPORT_MS
  VALIDATOR_FILL_RATE_EXPECTED baseline | contract (default baseline), VALIDATOR_BASELINES_DIR
    (default schemas/baselines: accepted baselines, <source>.json, from npm run schemas -- baseline)
  VALIDATOR_QUARANTINE_SPIKE, VALIDATOR_QUARANTINE_SPIKE_WINDOW_MS
  ALERT_WEBHOOK_URL, ALERT_WEBHOOK_TIMEOUT_MS, ALERT_FILE, ALERT_WINDOW_MS, ALERT_GATHER_MS
  VALIDATOR_HL7_MAPPING (default schemas/hl7/v2-mapping.json): HL7 v2 messages → contracts
  VALIDATOR_X12_MAPPING (default schemas/x12/mapping.json): X12 837/835 transaction sets → contracts
  REDIS_URL, REDIS_TLS_CA   alert de-duplication shared by replicas (per replica without)

Every served contract (ehr.valid.<Type>-value) and ehr.valid.deletions-value must be registered:
the service refuses to start otherwise (register with: npm run schemas -- register). See services/validator/README.md.
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}

const config = loadConfigOrExit(validatorEnv, 'validator');
const logger = createLogger({ name: 'validator', level: config.LOG_LEVEL });
const metrics = createMetrics('validator');

const service = await runService({
  name: 'validator',
  logger,
  shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  async start() {
    const validator = await startValidator({ config, logger, metrics });
    const http = createServiceHttp({
      name: 'validator',
      port: config.HTTP_PORT,
      logger,
      registry: metrics.registry,
      readiness: () => validator.ready(),
    });
    // `/readyz` also means "Kafka and the registry answer" (checked at most every 5 s).
    const kafkaTransport = kafkaTls(process.env);
    const dependencies = createDependencyChecks(
      {
        kafka: createKafkaProbe({
          brokers: config.KAFKA_BROKERS,
          clientId: `${config.KAFKA_CLIENT_ID ?? 'ehrflow-validator'}-probe`,
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
    logger.info({ port: address.port, delivery: config.VALIDATOR_DELIVERY }, 'validator started');
    validator.done.catch((err: unknown) => {
      logger.fatal({ err }, 'consumer failed permanently');
      void service.shutdown('consumer-failed', 1);
    });
    return { stop: () => validator.stop().finally(() => dependencies.close()), http };
  },
});
