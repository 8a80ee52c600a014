import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { onceKafkaJsSwap } from './module-swap.ts';

/**
 * Makes a kafkajs 2.2.4 transactional producer retry `CONCURRENT_TRANSACTIONS` on
 * AddPartitionsToTxn after a few milliseconds, as the Java client does, instead of after its
 * general retry back-off.
 *
 * Why: a stage in transactional delivery commits a chunk's transaction and at once sends the next
 * chunk's outputs. The coordinator answers the commit before it has written the commit markers,
 * and until they are written it refuses to add partitions to the producer's next transaction with
 * `CONCURRENT_TRANSACTIONS` — an answer meaning "in a moment". kafkajs treats it as any retriable
 * error of the send: it logs "Failed to send messages", refreshes the metadata and retries after
 * its back-off, 300 ms (ours) with jitter. Measured with `npm run bench:validator -- 20000
 * --service-only`: 8 of 67 transactions met it, the stage sat idle for most of the run (CPU 41% of
 * wall) and ran at 5,394 records/s against 11,728/s at-least-once. The Java client retries this
 * case after 20 ms (its `TransactionManager`'s add-partitions back-off), and so does this patch:
 * 20 ms, growing by half each time up to 200 ms, for at most {@link CONCURRENT_RETRY_BUDGET_MS}
 * in all; after that the error goes on to kafkajs' own retries as before.
 *
 * Nothing else changes: partitions are recorded as added only after the coordinator accepted
 * them (kafkajs' own order), so a retry sends the same set again; any other error is thrown at
 * once. kafkajs' producer takes the manager's factory when it loads (see `module-swap.ts`); too late
 * or another version: kafkajs' own stays and the client warns.
 *
 * @see https://kafka.apache.org/protocol#protocol_error_codes (CONCURRENT_TRANSACTIONS, code 51)
 */

/** Longest a send retries `CONCURRENT_TRANSACTIONS` itself before kafkajs' own retries take over. */
export const CONCURRENT_RETRY_BUDGET_MS = 5_000;
const FIRST_DELAY_MS = 20;
const MAX_DELAY_MS = 200;

interface EosManager {
  addPartitionsToTransaction(topicData: unknown): Promise<void>;
}

/** Counters of the retries this patch made (for tests and diagnostics). */
export const concurrentTransactionRetries = { retried: 0, gaveUp: 0 };

/**
 * `addPartitionsToTransaction` retried on `CONCURRENT_TRANSACTIONS` within the budget.
 * Exported for tests; `wait` and `now` are seams.
 */
export function retryConcurrentTransactions(
  add: (topicData: unknown) => Promise<void>,
  wait: (ms: number) => Promise<unknown> = sleep,
  now: () => number = Date.now,
): (topicData: unknown) => Promise<void> {
  return async (topicData) => {
    const started = now();
    let delay = FIRST_DELAY_MS;
    for (;;) {
      try {
        await add(topicData);
        return;
      } catch (err) {
        if ((err as { type?: unknown } | null)?.type !== 'CONCURRENT_TRANSACTIONS') throw err;
        if (now() - started + delay > CONCURRENT_RETRY_BUDGET_MS) {
          concurrentTransactionRetries.gaveUp++;
          throw err;
        }
        concurrentTransactionRetries.retried++;
        await wait(delay);
        delay = Math.min(MAX_DELAY_MS, Math.ceil(delay * 1.5));
      }
    }
  };
}

/** Applies the patch once per process; returns what happened (the same answer on every call). */
export const patchKafkaJsTransactionRetry = onceKafkaJsSwap({
  target: 'src/producer/eosManager/index.js',
  capturedBy: 'src/producer/index.js',
  replacement: () => {
    const require = createRequire(import.meta.url);
    const create = require('kafkajs/src/producer/eosManager/index.js') as (options: unknown) => EosManager;
    if (typeof create !== 'function') return undefined;
    return (options: unknown): EosManager => {
      const manager = create(options);
      if (typeof manager.addPartitionsToTransaction === 'function') {
        manager.addPartitionsToTransaction = retryConcurrentTransactions(
          manager.addPartitionsToTransaction.bind(manager),
        );
      }
      return manager;
    };
  },
});

patchKafkaJsTransactionRetry();
