import { hostname } from 'node:os';
import { kafkaTls, type Env } from '@ehrflow/config';
import { createCodec, createRegistry, type SchemaRegistry } from '@ehrflow/contracts';
import { createDeidentifier, createPatientDirectory, loadPolicy, type Policy } from '@ehrflow/deid';
import { createConsumerRunner, createKafka, type ConsumerRunner, type ConsumerStats } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import { parseKeyring, parsePseudonymKey } from '@ehrflow/phi';
import type { ServiceMetrics } from '@ehrflow/service';
import { planCleanSchemas, verifyCleanSchemas, type CleanPlan } from './clean-schemas.ts';
import { topicsOf, type RedactorConfig } from './config.ts';
import { createDecryptor, type Decryptor } from './decrypt.ts';
import { createRedactHandler } from './handler.ts';
import { createRedactorMetrics } from './metrics.ts';

export interface RedactorOptions {
  readonly config: RedactorConfig;
  readonly logger: Logger;
  /** Environment for TLS settings (`KAFKA_SSL`, ...); process.env by default. */
  readonly env?: Env;
  readonly metrics?: ServiceMetrics;
  /** An already loaded policy (tests); otherwise `REDACTOR_POLICY` is loaded. */
  readonly policy?: Policy;
  readonly clientId?: string;
  /** Clock for age caps (tests). */
  readonly now?: () => Date;
}

/** A running redactor. */
export interface RunningRedactor {
  readonly plan: CleanPlan;
  /** Settles when consumption ends: resolves after `stop()`, rejects on a permanent failure. */
  readonly done: Promise<void>;
  ready(): boolean;
  stats(): ConsumerStats;
  /** Drains: the in-flight chunk finishes and commits, then the consumer leaves and disconnects. */
  stop(): Promise<void>;
}

/**
 * Starts the redactor: keys, policy and clean schemas are checked before anything is consumed —
 * a missing key, a bad policy or an unregistered clean schema refuses the start — then it
 * consumes every `ehr.valid.<Type>` it serves.
 *
 * @throws PipelineError KEY_MISSING, POLICY_INVALID, SCHEMA_NOT_REGISTERED, REGISTRY_UNAVAILABLE.
 */
export async function startRedactor(options: RedactorOptions): Promise<RunningRedactor> {
  const { config, logger } = options;
  const topics = topicsOf(config);
  const ring = parseKeyring(config.PHI_KEYRING);
  const pseudonymKey = parsePseudonymKey(config.PSEUDONYM_KEY);
  const policy = options.policy ?? loadPolicy(config.REDACTOR_POLICY);
  const registry: SchemaRegistry = createRegistry({ url: config.SCHEMA_REGISTRY_URL });
  let plan: CleanPlan;
  try {
    plan = await planCleanSchemas(registry, { types: config.REDACTOR_RESOURCE_TYPES, topics, policy });
    await verifyCleanSchemas(registry, plan);
  } catch (err) {
    await registry.close();
    throw err;
  }
  logger.info(
    { policy: plan.policy.name, policyVersion: plan.policy.version, types: [...plan.types.keys()] },
    'de-identification policy compiled; clean schemas verified',
  );

  const decryptors = new Map<string, Decryptor>();
  for (const [type, t] of plan.types) decryptors.set(type, createDecryptor(t.valid.contract, ring));
  const metrics = options.metrics === undefined ? undefined : createRedactorMetrics(options.metrics);
  const deidentifier = createDeidentifier({
    policy: plan.policy,
    pseudonymKey,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(config.REDACTOR_PATIENT_DIRECTORY_SIZE > 0
      ? { directory: createPatientDirectory(config.REDACTOR_PATIENT_DIRECTORY_SIZE) }
      : {}),
  });
  const { handler, onQuarantine } = createRedactHandler({
    plan,
    topics,
    deidentifier,
    decryptors,
    ring,
    logger,
    ...(metrics === undefined ? {} : { metrics }),
  });

  const tls = kafkaTls(options.env ?? process.env);
  if (tls.warning !== undefined) logger.warn({ reason: tls.warning.reason }, tls.warning.message);
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: options.clientId ?? config.KAFKA_CLIENT_ID ?? 'ehrflow-redactor',
    logger,
    mode: config.EHRFLOW_MODE,
    ...(tls.ssl ? { ssl: tls.ssl } : {}),
    ...(tls.sasl ? { sasl: tls.sasl } : {}),
  });
  const runner: ConsumerRunner = createConsumerRunner({
    kafka,
    groupId: config.REDACTOR_GROUP_ID,
    topics: [...plan.types.values()].map((t) => t.valid.topic),
    codec: createCodec(registry),
    handler,
    onQuarantine,
    delivery: config.REDACTOR_DELIVERY,
    transactionalId: config.REDACTOR_TRANSACTIONAL_ID ?? `${config.REDACTOR_GROUP_ID}-tx-${hostname()}`,
    maxBatch: config.REDACTOR_MAX_BATCH,
    logger,
  });
  const done = runner.run();
  const statsTimer = setInterval(() => {
    const stats = runner.stats() as unknown as Readonly<Record<string, number>>;
    for (const [stat, value] of Object.entries(stats)) metrics?.consumer.set({ stat }, value);
  }, 5_000);
  statsTimer.unref();
  let stopping: Promise<void> | undefined;
  return {
    plan,
    done,
    ready: () => runner.ready(),
    stats: () => runner.stats(),
    stop() {
      stopping ??= (async () => {
        clearInterval(statsTimer);
        try {
          await runner.stop();
        } finally {
          await registry.close();
        }
      })();
      return stopping;
    },
  };
}
