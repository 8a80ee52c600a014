import type { Env } from '@ehrflow/config';
import type { KafkaClient } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import type { ServiceMetrics, StageContext, StageHandle } from '@ehrflow/service';
import { createClients, type LoaderConfig } from './config.ts';
import { BATCH_OUTCOMES } from './load-batch.ts';
import { startLoader, type BatchEvent, type Loader } from './loader.ts';

export interface LoaderServiceOptions {
  readonly config: LoaderConfig;
  readonly env: Env;
  readonly logger: Logger;
  readonly metrics: ServiceMetrics;
  /** The stage skeleton's Kafka client. */
  readonly kafka?: KafkaClient;
}

/** A running loader service: the loader plus the clients it was given. */
export interface RunningLoaderService {
  readonly loader: Loader;
  /** Stops the loader (the batch in flight commits), then closes the pool and registry client. */
  stop(): Promise<void>;
}

/**
 * The loader as a service: clients from configuration, the loader's Prometheus metrics (records
 * by outcome, batches, batch duration, retries), and the loader started on them.
 */
export async function startLoaderService(options: LoaderServiceOptions): Promise<RunningLoaderService> {
  const { config, logger, metrics } = options;
  const clients = createClients(config, options.env, logger, 'loader', options.kafka);
  const records = metrics.counter('loader_records_total', 'Clean records by outcome', [
    'resource_type',
    'outcome',
  ]);
  const batches = metrics.counter('loader_batches_total', 'Committed batch transactions', ['resource_type']);
  const batchSeconds = metrics.histogram('loader_batch_seconds', 'Batch transaction duration', [
    'resource_type',
  ]);
  const retries = metrics.gauge('loader_batch_retries', 'Batch attempts retried since start');
  const onBatch = (e: BatchEvent): void => {
    const resource_type = e.resourceType;
    for (const outcome of BATCH_OUTCOMES) {
      if (e[outcome] > 0) records.inc({ resource_type, outcome }, e[outcome]);
    }
    batches.inc({ resource_type });
    batchSeconds.observe({ resource_type }, e.durationMs / 1000);
  };
  let loader: Loader;
  try {
    loader = await startLoader({
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
      onBatch,
    });
  } catch (err) {
    await clients.close();
    throw err;
  }
  const retryTimer = setInterval(() => retries.set({}, loader.counters().retries), 5_000);
  retryTimer.unref();
  return {
    loader,
    async stop() {
      clearInterval(retryTimer);
      try {
        await loader.stop();
      } finally {
        await clients.close();
      }
    },
  };
}

/**
 * The loader as a pipeline stage: what `runStage` starts in `main.ts`. A loader that stops by
 * itself (an error it cannot retry) rejects `done`, which takes the process down with exit 1.
 */
export async function startLoaderStage(context: StageContext<LoaderConfig>): Promise<StageHandle> {
  const service = await startLoaderService({ ...context, kafka: context.kafka() });
  return { ready: () => service.loader.ready(), stop: () => service.stop(), done: service.loader.done };
}
