/**
 * Child process for the crash and drain integration tests: runs one consumer runner copying
 * `{ id }` records from WORKER_INPUT to WORKER_OUTPUT until SIGTERM (drain, exit 0) or SIGKILL.
 * Prints one JSON line per event on stdout so the test can act at the right moment.
 *
 * Run: node libs/kafka/src/testing/worker.ts (with the WORKER_* variables set).
 */
import { createConsumerRunner } from '../consumer-runner.ts';
import type { DeliveryMode } from '../delivery.ts';
import { jsonTestCodec, memoryLogger, testClient } from './kafka.ts';

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new RangeError(`${name} is required`);
  return value;
}

const output = env('WORKER_OUTPUT');
const mode = env('WORKER_MODE') as DeliveryMode;
const delayMs = Number(process.env.WORKER_DELAY_MS ?? '0');
/** `handler`: the delay happens before outputs exist; `commit`: after they are produced, before the commit. */
const delayAt = process.env.WORKER_DELAY_AT ?? 'handler';
const pause = () =>
  delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, delayMs)) : Promise.resolve();
const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

const logger = memoryLogger();
const runner = createConsumerRunner({
  kafka: testClient(`worker-${process.pid}`, logger),
  groupId: env('WORKER_GROUP'),
  topics: [env('WORKER_INPUT')],
  codec: jsonTestCodec(),
  delivery: mode,
  ...(mode === 'transactional' ? { transactionalId: env('WORKER_TXID') } : {}),
  maxBatch: Number(process.env.WORKER_MAX_BATCH ?? '100'),
  sessionTimeoutMs: 6_000,
  heartbeatIntervalMs: 1_000,
  stopTimeoutMs: Number(process.env.WORKER_STOP_TIMEOUT_MS ?? '20000'),
  logger,
  beforeCommit: async (info) => {
    emit({ event: 'produced', partition: info.partition, outputs: info.outputs });
    if (delayAt === 'commit') await pause();
  },
  handler: async (batch) => {
    emit({ event: 'chunk', first: batch[0]?.offset, partition: batch[0]?.partition, count: batch.length });
    if (delayAt === 'handler') await pause();
    return batch.map((r) => ({
      topic: output,
      key: r.key ?? 'none',
      value: { id: (r.value as { id: string }).id },
    }));
  },
});

process.once('SIGTERM', () => {
  emit({ event: 'sigterm' });
  runner.stop().then(
    () => {
      emit({ event: 'stopped', stats: runner.stats() });
      process.exit(0);
    },
    (err: unknown) => {
      emit({ event: 'stop-failed', code: (err as { code?: string }).code });
      process.exit(1);
    },
  );
});

const readyTimer = setInterval(() => {
  if (runner.ready()) {
    emit({ event: 'ready' });
    clearInterval(readyTimer);
  }
}, 50);

runner.run().then(
  () => emit({ event: 'run-resolved' }),
  (err: unknown) => {
    emit({ event: 'run-failed', code: (err as { code?: string }).code });
    process.exit(2);
  },
);
