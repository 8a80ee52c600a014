import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Env } from '@ehrflow/config';
import { createCodec, createRegistry, type SchemaRegistry } from '@ehrflow/contracts';
import {
  createDeidentifier,
  createPatientDirectory,
  createSharedPatientDirectory,
  loadPolicy,
  type PatientDirectory,
  type Policy,
  type SharedPatientDirectory,
} from '@ehrflow/deid';
import {
  createConsumerRunner,
  type BatchHandler,
  type ConsumerRunner,
  type ConsumerStats,
  type KafkaClient,
} from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import { parseKeyring, parsePseudonymKey } from '@ehrflow/phi';
import {
  connectRedis,
  createStageKafka,
  runConsumerStage,
  type ConsumerStage,
  type ServiceMetrics,
} from '@ehrflow/service';
import { planCleanSchemas, verifyCleanSchemas, type CleanPlan } from './clean-schemas.ts';
import { topicsOf, type RedactorConfig } from './config.ts';
import { createDecryptor, type Decryptor } from './decrypt.ts';
import {
  createDeletionRedactor,
  planDeletions,
  verifyDeletionSchemas,
  type DeletionPlan,
  type DeletionRedactor,
} from './deletions.ts';
import { createRedisDirectoryStore } from './directory-store.ts';
import { createDeidWorkers } from './deid-workers.ts';
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
  /** Kafka client (the stage skeleton's); otherwise made from `config` and `env`. */
  readonly kafka?: KafkaClient;
  /** Kafka client id when `kafka` is not given; wins over `KAFKA_CLIENT_ID`. */
  readonly clientId?: string;
  /** Clock for age caps (tests). */
  readonly now?: () => Date;
}

/** A running redactor: a consumer stage (`done`, `ready`, `stop`) with its plans and directory. */
export interface RunningRedactor extends ConsumerStage {
  readonly plan: CleanPlan;
  readonly deletions: DeletionPlan;
  /**
   * Whether the shared patient directory's Redis answers (true without one). While it does not,
   * every chunk waits on REDIS_UNAVAILABLE retries: the stage takes no record, so `/readyz` says so.
   */
  directoryReachable(): Promise<boolean>;
  stats(): ConsumerStats;
}

/**
 * Starts the redactor: keys, policy and clean schemas are checked before anything is consumed —
 * a missing key, a bad policy or an unregistered clean schema refuses the start — then it
 * consumes every `ehr.valid.<Type>` it serves and `ehr.valid.deletions`.
 *
 * @throws PipelineError KEY_MISSING, POLICY_INVALID, SCHEMA_NOT_REGISTERED, REGISTRY_UNAVAILABLE,
 *   REDIS_UNAVAILABLE (shared directory configured but Redis unreachable).
 */
export async function startRedactor(options: RedactorOptions): Promise<RunningRedactor> {
  const { config, logger } = options;
  const topics = topicsOf(config);
  const ring = parseKeyring(config.PHI_KEYRING);
  const pseudonymKey = parsePseudonymKey(config.PSEUDONYM_KEY);
  const policy = options.policy ?? loadPolicy(config.REDACTOR_POLICY);
  const registry: SchemaRegistry = createRegistry({ url: config.SCHEMA_REGISTRY_URL });
  let plan: CleanPlan;
  let deletionPlan: DeletionPlan;
  let deletionRedactor: DeletionRedactor;
  try {
    plan = await planCleanSchemas(registry, { types: config.REDACTOR_RESOURCE_TYPES, topics, policy });
    await verifyCleanSchemas(registry, plan);
    deletionPlan = await planDeletions(registry, topics);
    await verifyDeletionSchemas(registry, deletionPlan);
    deletionRedactor = createDeletionRedactor({
      plan: deletionPlan,
      policy: plan.policy,
      types: [...plan.types.keys()],
      ring,
      pseudonymKey,
    });
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
  let directories: Directories;
  try {
    directories = await openDirectories(config, pseudonymKey, options.env ?? process.env, logger);
  } catch (err) {
    await registry.close();
    throw err;
  }
  const { directory, shared, redis } = directories;
  logger.info(
    {
      patientDirectory: directory === undefined ? 'off' : shared === undefined ? 'memory' : 'memory+redis',
      maxPatients: config.REDACTOR_PATIENT_DIRECTORY_SIZE,
      workers: config.REDACTOR_WORKERS,
    },
    directory === undefined
      ? 'patient directory off: free text of every non-Patient record is withheld'
      : 'patient directory on: free text of records whose patient is unknown is withheld',
  );
  const deidentifier = createDeidentifier({
    policy: plan.policy,
    pseudonymKey,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(directory === undefined ? {} : { directory }),
    onFreeTextWithheld: (resourceType, _field, reason) =>
      metrics?.freeTextWithheld.inc({ type: resourceType, reason }),
  });
  const workers =
    config.REDACTOR_WORKERS === 0
      ? undefined
      : createDeidWorkers({
          threads: config.REDACTOR_WORKERS,
          ...(config.REDACTOR_WORKER_HEAP_MB === undefined
            ? {}
            : { maxHeapMb: config.REDACTOR_WORKER_HEAP_MB }),
          policy,
          contracts: [...plan.types.values()].map((t) => ({
            type: t.valid.type,
            json: t.valid.json,
            label: `${t.valid.subject} v${t.valid.version}`,
          })),
          pseudonymKey,
          directory: directory !== undefined,
          ...(options.now === undefined ? {} : { now: options.now }),
          onFreeTextWithheld: (type, reason) => metrics?.freeTextWithheld.inc({ type, reason }),
        });
  try {
    // Workers that cannot load or compile the policy refuse the start, before anything is consumed.
    await workers?.warmUp();
  } catch (err) {
    await workers?.close();
    await registry.close();
    await redis?.quit().catch(() => undefined);
    throw err;
  }
  metrics?.directory.set(
    { measure: 'capacity' },
    directory === undefined ? 0 : config.REDACTOR_PATIENT_DIRECTORY_SIZE,
  );
  const redact = createRedactHandler({
    plan,
    topics,
    deidentifier,
    decryptors,
    deletions: { plan: deletionPlan, redactor: deletionRedactor },
    ring,
    logger,
    ...(metrics === undefined ? {} : { metrics }),
    ...(shared === undefined ? {} : { directory: shared }),
    ...(workers === undefined ? {} : { workers }),
  });
  const { onQuarantine } = redact;
  const handler: BatchHandler = async (batch) => {
    const outputs = await redact.handler(batch);
    metrics?.directory.set({ measure: 'held' }, directory?.size ?? 0);
    metrics?.directory.set({ measure: 'compiled' }, directory?.compiled ?? 0);
    return outputs;
  };

  const kafka =
    options.kafka ??
    createStageKafka(config, {
      logger,
      defaultClientId: 'ehrflow-redactor',
      clientId: options.clientId,
      env: options.env,
    });
  const runner: ConsumerRunner = createConsumerRunner({
    kafka,
    groupId: config.REDACTOR_GROUP_ID,
    topics: [...[...plan.types.values()].map((t) => t.valid.topic), deletionPlan.validTopic],
    codec: createCodec(registry),
    handler,
    onQuarantine,
    delivery: config.REDACTOR_DELIVERY,
    transactionalId: config.REDACTOR_TRANSACTIONAL_ID ?? `${config.REDACTOR_GROUP_ID}-tx-${hostname()}`,
    maxBatch: config.REDACTOR_MAX_BATCH,
    maxInFlightBytes: config.REDACTOR_MAX_INFLIGHT_BYTES,
    ...(config.REDACTOR_MAX_OUTPUT_BYTES === undefined
      ? {}
      : { maxOutputBytes: config.REDACTOR_MAX_OUTPUT_BYTES }),
    maxOutputBytesSetting: 'REDACTOR_MAX_OUTPUT_BYTES',
    logger,
  });
  const stage = runConsumerStage(runner, {
    ...(metrics === undefined ? {} : { stats: metrics.consumer }),
    close: async () => {
      await workers?.close();
      await registry.close();
      await redis?.quit().catch(() => undefined);
    },
  });
  return {
    ...stage,
    plan,
    deletions: deletionPlan,
    directoryReachable: () =>
      redis === undefined
        ? Promise.resolve(true)
        : redis.ping().then(
            () => true,
            () => false,
          ),
    stats: () => runner.stats(),
  };
}

interface Directories {
  /** What the deidentifier consults; undefined when the directory is off. */
  readonly directory: PatientDirectory | undefined;
  /** The same directory when it is shared through Redis (batch prefetch and flush). */
  readonly shared: SharedPatientDirectory | undefined;
  readonly redis: Redis | undefined;
}

/**
 * The patient directory of the configuration: off (size 0), this process's memory, or memory
 * plus the Redis-shared digests when `REDIS_URL` is set. Redis is connected here, so an
 * unreachable Redis refuses the start instead of withholding every note.
 */
async function openDirectories(
  config: RedactorConfig,
  pseudonymKey: Buffer,
  env: Env,
  logger: Logger,
): Promise<Directories> {
  if (config.REDACTOR_PATIENT_DIRECTORY_SIZE === 0) {
    return { directory: undefined, shared: undefined, redis: undefined };
  }
  const local = createPatientDirectory(config.REDACTOR_PATIENT_DIRECTORY_SIZE, {
    compiledPatients: config.REDACTOR_DIRECTORY_COMPILED_PATIENTS,
  });
  if (config.REDIS_URL === undefined) return { directory: local, shared: undefined, redis: undefined };
  const redis = await connectRedis({
    url: config.REDIS_URL,
    env,
    logger,
    purpose: 'the shared patient directory',
  });
  const store = createRedisDirectoryStore(redis, {
    prefix: config.REDACTOR_DIRECTORY_KEY_PREFIX,
    ttlSeconds: config.REDACTOR_DIRECTORY_TTL_SECONDS,
  });
  const shared = createSharedPatientDirectory({ local, store, pseudonymKey });
  return { directory: shared, shared, redis };
}
