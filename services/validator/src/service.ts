import { join } from 'node:path';
import type { Env } from '@ehrflow/config';
import {
  BASELINES_DIR,
  createCodec,
  createRegistry,
  findSchemasDir,
  loadBaselines,
  type Codec,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { loadHl7Mapping } from '@ehrflow/hl7';
import { loadX12Mapping } from '@ehrflow/x12';
import { PipelineError } from '@ehrflow/errors';
import { r4ResourceTypes } from '@ehrflow/fhir';
import {
  createConsumerRunner,
  createProducer,
  type ConsumerRunner,
  type KafkaClient,
  type RecordProducer,
} from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import { parseKeyring, type Keyring } from '@ehrflow/phi';
import {
  createStageKafka,
  runConsumerStage,
  type ConsumerStage,
  type ServiceMetrics,
} from '@ehrflow/service';
import type { AlertSink } from './alerts/alert.ts';
import { createAlertManager, type AlertManager } from './alerts/alert-manager.ts';
import { createFileAlertSink } from './alerts/file-sink.ts';
import { createWebhookAlertSink } from './alerts/webhook-sink.ts';
import { topicsOf, type ValidatorConfig, type ValidatorTopics } from './config.ts';
import { createContractCache, type ContractCache } from './contract-cache.ts';
import { loadDeletionContract, type DeletionContract } from './deletion.ts';
import { createDriftAggregator } from './drift-aggregator.ts';
import { createValidatorHandler, type ValidatorHandler } from './handler.ts';
import { createHl7Validator } from './hl7-validate.ts';
import { contractPhiLookup, createX12Validator } from './x12-validate.ts';
import { createValidatorMetrics, type ValidatorMetrics } from './metrics.ts';
import { createMonitor, type Monitor } from './monitor.ts';
import { openSharedAlertClaim, replicaTransactionalId } from './replica.ts';
import { createQuarantineSpikes } from './quarantine-spikes.ts';
import { createRecordValidator } from './validate-record.ts';
import { createValidatePool, createValidateWorkers } from './validate-workers.ts';

/** The validator's parts, wired, but not consuming yet (the service and the replay command share it). */
export interface ValidatorParts {
  readonly config: ValidatorConfig;
  readonly topics: ValidatorTopics;
  readonly kafka: KafkaClient;
  readonly registry: SchemaRegistry;
  readonly codec: Codec;
  readonly keyring: Keyring;
  readonly contracts: ContractCache;
  readonly deletions: DeletionContract;
  readonly handler: ValidatorHandler;
  readonly monitor: Monitor;
  readonly alerts: AlertManager;
  /** Produces drift events (and, for replay, outputs) with acks=all. */
  readonly producer: RecordProducer;
  readonly metrics: ValidatorMetrics | undefined;
  close(): Promise<void>;
}

export interface BuildOptions {
  readonly config: ValidatorConfig;
  readonly logger: Logger;
  readonly env?: Env;
  readonly metrics?: ServiceMetrics;
  /** Extra sinks (tests); the configured webhook/file sinks are added to these. */
  readonly sinks?: readonly AlertSink[];
  /** Kafka client (the stage skeleton's); otherwise made from `config` and `env`. */
  readonly kafka?: KafkaClient;
  /** Kafka client id when `kafka` is not given; wins over `KAFKA_CLIENT_ID`. */
  readonly clientId?: string;
  /** The worker threads' module instead of `validate-worker.ts` (tests: a worker that crashes). */
  readonly workerModule?: URL;
}

/** The sinks the configuration asks for; with none, alerts go to the log (when allowed). */
export function configuredSinks(config: ValidatorConfig, logger: Logger): AlertSink[] {
  const sinks: AlertSink[] = [];
  if (config.ALERT_WEBHOOK_URL !== undefined) {
    sinks.push(
      createWebhookAlertSink({ url: config.ALERT_WEBHOOK_URL, timeoutMs: config.ALERT_WEBHOOK_TIMEOUT_MS }),
    );
  }
  if (config.ALERT_FILE !== undefined) sinks.push(createFileAlertSink(config.ALERT_FILE));
  if (sinks.length === 0 && config.ALERT_LOG_FALLBACK) {
    sinks.push({
      name: 'log',
      send: (alert) => {
        logger.warn(
          {
            alertId: alert.alertId,
            sourceId: alert.sourceId,
            resourceType: alert.resourceType,
            records: alert.records,
          },
          alert.summary,
        );
        return Promise.resolve();
      },
    });
  }
  return sinks;
}

/**
 * Builds the validator: registry, codec, keyring, contracts (every served subject must be
 * registered — a missing one refuses to start), the record validator, drift/alert monitor.
 * @throws PipelineError SCHEMA_NOT_REGISTERED naming the subject, KEY_MISSING, REGISTRY_UNAVAILABLE.
 */
export async function buildValidator(options: BuildOptions): Promise<ValidatorParts> {
  const { config, logger } = options;
  const topics = topicsOf(config);
  const keyring = parseKeyring(config.PHI_KEYRING);
  const kafka =
    options.kafka ??
    createStageKafka(config, {
      logger,
      defaultClientId: 'ehrflow-validator',
      clientId: options.clientId,
      env: options.env,
    });
  const registry = createRegistry({ url: config.SCHEMA_REGISTRY_URL });
  const codec = createCodec(registry, {
    refreshMs: config.VALIDATOR_SCHEMA_REFRESH_MS,
    onRefreshError: (err, subject) =>
      logger.warn({ err, subject }, 'registry refresh failed; keeping the cached version'),
  });
  const contracts = createContractCache({
    source: codec,
    validTopicPrefix: topics.validPrefix,
    resourceTypes: config.VALIDATOR_RESOURCE_TYPES,
    fillRateWindow: config.VALIDATOR_FILL_RATE_WINDOW,
    ...(config.VALIDATOR_FILL_RATE_EXPECTED === 'baseline'
      ? { baselines: loadBaselines(config.VALIDATOR_BASELINES_DIR ?? join(findSchemasDir(), BASELINES_DIR)) }
      : {}),
    onCompileError: (err, subject, version) =>
      logger.error(
        { err, subject, version },
        'registered contract version does not compile; keeping the previous one',
      ),
  });
  // Refuse to start without every contract, the deletions' included (services never auto-register).
  for (const type of config.VALIDATOR_RESOURCE_TYPES) {
    try {
      await contracts.forType(type);
    } catch (err) {
      await registry.close();
      throw err instanceof PipelineError
        ? err
        : new PipelineError('CONTRACT_VIOLATION', `contract of ${type} could not be loaded`, {
            context: { resourceType: type },
          });
    }
  }
  // Read the R4 type names now (tens of ms), not in the middle of the first batch with a type
  // the validator has no contract for.
  r4ResourceTypes();
  let deletions: DeletionContract;
  try {
    deletions = await loadDeletionContract(codec, topics.deletions);
  } catch (err) {
    await registry.close();
    throw err;
  }
  const metrics = options.metrics ? createValidatorMetrics(options.metrics) : undefined;
  const producer = createProducer({ kafka, codec, logger });
  const sinks = [...(options.sinks ?? []), ...configuredSinks(config, logger)];
  const shared = await openSharedAlertClaim({
    redisUrl: config.REDIS_URL,
    groupId: config.VALIDATOR_GROUP_ID,
    env: options.env ?? process.env,
    logger,
  });
  const alerts = createAlertManager({
    sinks,
    ...(shared ? { claim: shared.claim } : {}),
    gatherMs: config.ALERT_GATHER_MS,
    windowMs: config.ALERT_WINDOW_MS,
    onSent: (alert, sink) => {
      metrics?.alerts.inc({ sink, result: 'sent' });
      logger.info(
        { alertId: alert.alertId, sink, sourceId: alert.sourceId, resourceType: alert.resourceType },
        'alert sent',
      );
    },
    onSendError: (err, sink) => {
      metrics?.alerts.inc({ sink, result: 'failed' });
      logger.error({ err, sink }, 'alert sink failed');
    },
  });
  const monitor = createMonitor({
    aggregator: createDriftAggregator({ reportMs: config.VALIDATOR_DRIFT_REPORT_MS }),
    alerts,
    spikes: createQuarantineSpikes({
      threshold: config.VALIDATOR_QUARANTINE_SPIKE,
      windowMs: config.VALIDATOR_QUARANTINE_SPIKE_WINDOW_MS,
    }),
    ...(metrics ? { metrics } : {}),
    emit: (events) =>
      producer.send(
        topics.drift,
        events.map((e) => ({ key: e.eventId, value: e })),
      ),
    ...(shared ? { sharedCount: shared.countDrift } : {}),
    logger,
  });
  const validator = createRecordValidator({
    keyring,
    contracts,
    deletions,
    maxPayloadBytes: config.VALIDATOR_MAX_PAYLOAD_BYTES,
  });
  const hl7Mapping = loadHl7Mapping(
    config.VALIDATOR_HL7_MAPPING ?? join(findSchemasDir(), 'hl7', 'v2-mapping.json'),
  );
  const x12Mapping = loadX12Mapping(
    config.VALIDATOR_X12_MAPPING ?? join(findSchemasDir(), 'x12', 'mapping.json'),
    contractPhiLookup(findSchemasDir()),
  );
  const workers =
    config.VALIDATOR_WORKERS === 0
      ? undefined
      : createValidateWorkers(
          createValidatePool(config.VALIDATOR_WORKERS, config, {
            ...(config.VALIDATOR_WORKER_HEAP_MB === undefined
              ? {}
              : { maxHeapMb: config.VALIDATOR_WORKER_HEAP_MB }),
            ...(options.workerModule === undefined ? {} : { module: options.workerModule }),
          }),
          {
            contracts,
            fillRate: validator.fillRate,
          },
        );
  try {
    // Workers that cannot load or fetch their contracts refuse the start, before anything is consumed.
    await workers?.warmUp();
  } catch (err) {
    await workers?.close();
    await shared?.close();
    await registry.close();
    throw err;
  }
  const handler = createValidatorHandler({
    validator,
    ...(workers === undefined ? {} : { workers }),
    hl7: createHl7Validator({ keyring, mapping: hl7Mapping, fhir: validator }),
    x12: createX12Validator({ keyring, mapping: x12Mapping, fhir: validator }),
    monitor,
    quarantineTopic: topics.quarantine,
    ...(metrics ? { metrics } : {}),
  });
  await producer.connect();
  return {
    config,
    topics,
    kafka,
    registry,
    codec,
    keyring,
    contracts,
    deletions,
    handler,
    monitor,
    alerts,
    producer,
    metrics,
    async close() {
      await workers?.close();
      await Promise.allSettled(sinks.map((s) => (s.close ? s.close() : Promise.resolve())));
      await shared?.close();
      await producer.disconnect();
      await registry.close();
    },
  };
}

/**
 * A running validator: a consumer stage whose `stop` also flushes drift events and alerts before
 * it disconnects.
 */
export interface RunningValidator extends ConsumerStage {
  readonly parts: ValidatorParts;
  readonly runner: ConsumerRunner;
}

/** Builds the validator and starts consuming `ehr.raw`. */
export async function startValidator(options: BuildOptions): Promise<RunningValidator> {
  const parts = await buildValidator(options);
  const { config, topics } = parts;
  const runner = createConsumerRunner({
    kafka: parts.kafka,
    groupId: config.VALIDATOR_GROUP_ID,
    topics: [topics.raw],
    codec: parts.codec,
    handler: parts.handler.handle,
    onQuarantine: parts.handler.onQuarantine,
    delivery: config.VALIDATOR_DELIVERY,
    transactionalId: replicaTransactionalId(config),
    maxBatch: config.VALIDATOR_MAX_BATCH,
    maxInFlightBytes: config.VALIDATOR_MAX_INFLIGHT_BYTES,
    ...(config.VALIDATOR_MAX_OUTPUT_BYTES === undefined
      ? {}
      : { maxOutputBytes: config.VALIDATOR_MAX_OUTPUT_BYTES }),
    maxOutputBytesSetting: 'VALIDATOR_MAX_OUTPUT_BYTES',
    logger: options.logger,
  });
  parts.monitor.start();
  const stage = runConsumerStage(runner, {
    ...(parts.metrics === undefined ? {} : { stats: parts.metrics.consumer }),
    close: async () => {
      await parts.monitor.stop();
      await parts.close();
    },
  });
  return { ...stage, parts, runner };
}
