// The patch must load before kafkajs' producer, as `@ehrflow/kafka`'s entry point does.
import {
  CONCURRENT_RETRY_BUDGET_MS,
  concurrentTransactionRetries,
  patchKafkaJsTransactionRetry,
  retryConcurrentTransactions,
} from './txn-retry-patch.ts';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);

/** A kafkajs protocol error as the coordinator's answer becomes one. */
function protocolError(type: string): Error {
  return Object.assign(new Error(`coordinator answered ${type}`), { type, retriable: true });
}

/** An `add` that fails with `errors` in turn, then succeeds; and the clock its waits move. */
function scripted(errors: Error[]) {
  let clock = 0;
  const calls: unknown[] = [];
  const waits: number[] = [];
  const add = (topicData: unknown): Promise<void> => {
    calls.push(topicData);
    const error = errors.shift();
    return error === undefined ? Promise.resolve() : Promise.reject(error);
  };
  const wait = (ms: number): Promise<void> => {
    waits.push(ms);
    clock += ms;
    return Promise.resolve();
  };
  return { add, wait, now: () => clock, calls, waits };
}

describe('kafkajs transaction retry patch (CONCURRENT_TRANSACTIONS on AddPartitionsToTxn)', () => {
  it('is what kafkajs’ producer loads, and wraps the manager it makes', () => {
    expect(patchKafkaJsTransactionRetry()).toBe('applied');
    const create = require('kafkajs/src/producer/eosManager/index.js') as (o: object) => {
      addPartitionsToTransaction: { name: string };
    };
    const noop = () => undefined;
    const logger = { debug: noop, info: noop, warn: noop, error: noop, namespace: () => logger };
    const manager = create({ logger, cluster: {}, transactional: true, transactionalId: 'tx' });
    expect(manager.addPartitionsToTransaction.name).not.toBe('addPartitionsToTransaction');
  });

  it('retries after a few milliseconds, the same partitions each time, until the coordinator takes them', async () => {
    const s = scripted([protocolError('CONCURRENT_TRANSACTIONS'), protocolError('CONCURRENT_TRANSACTIONS')]);
    const before = concurrentTransactionRetries.retried;
    const topicData = [{ topic: 't', partitions: [{ partition: 0 }] }];
    await retryConcurrentTransactions(s.add, s.wait, s.now)(topicData);
    expect(s.calls).toEqual([topicData, topicData, topicData]);
    expect(s.waits).toEqual([20, 30]);
    expect(concurrentTransactionRetries.retried - before).toBe(2);
  });

  it('throws any other error at once', async () => {
    const other = protocolError('INVALID_PRODUCER_EPOCH');
    const s = scripted([other]);
    await expect(retryConcurrentTransactions(s.add, s.wait, s.now)([])).rejects.toBe(other);
    expect(s.calls).toHaveLength(1);
    expect(s.waits).toEqual([]);
  });

  it('hands the error on to kafkajs’ own retries once its budget is spent', async () => {
    const errors = Array.from({ length: 1_000 }, () => protocolError('CONCURRENT_TRANSACTIONS'));
    const s = scripted(errors);
    const gaveUp = concurrentTransactionRetries.gaveUp;
    await expect(retryConcurrentTransactions(s.add, s.wait, s.now)([])).rejects.toMatchObject({
      type: 'CONCURRENT_TRANSACTIONS',
    });
    const waited = s.waits.reduce((a, b) => a + b, 0);
    expect(waited).toBeLessThanOrEqual(CONCURRENT_RETRY_BUDGET_MS);
    expect(waited).toBeGreaterThan(CONCURRENT_RETRY_BUDGET_MS - 200);
    expect(Math.max(...s.waits)).toBe(200);
    expect(concurrentTransactionRetries.gaveUp - gaveUp).toBe(1);
  });
});
