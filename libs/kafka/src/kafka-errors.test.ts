import { createRequire } from 'node:module';
import type * as KafkaJs from 'kafkajs';
import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { isProducerStateLost, isRebalanceError, toKafkaError } from './kafka-errors.ts';

// kafkajs spreads its error classes into module.exports, which ESM named imports cannot see.
const kafkajs = createRequire(import.meta.url)('kafkajs') as typeof KafkaJs;
const retries = { retryCount: 5, retryTime: 100 };
const protocolError = (type: string, retriable: boolean) =>
  new kafkajs.KafkaJSProtocolError(Object.assign(new Error(type), { type, code: 1, retriable }));

describe('toKafkaError', () => {
  it('maps an unreachable broker, after kafkajs gave up retrying, to KAFKA_UNAVAILABLE', () => {
    const connection = new kafkajs.KafkaJSConnectionError(
      'Connection error: connect ECONNREFUSED 127.0.0.1:1',
    );
    const exhausted = new kafkajs.KafkaJSNumberOfRetriesExceeded(connection, retries);
    const err = toKafkaError(exhausted, 'connect');
    expect(err).toBeInstanceOf(PipelineError);
    expect(err).toMatchObject({ code: 'KAFKA_UNAVAILABLE', retryable: true });
    expect((err as PipelineError).context).toMatchObject({
      operation: 'connect',
      kafkaError: 'KafkaJSConnectionError',
    });
  });

  it('treats a retriable protocol error that outlived the retries as unavailability', () => {
    const exhausted = new kafkajs.KafkaJSNumberOfRetriesExceeded(
      protocolError('LEADER_NOT_AVAILABLE', true),
      retries,
    );
    expect(toKafkaError(exhausted, 'send')).toMatchObject({ code: 'KAFKA_UNAVAILABLE' });
  });

  it('maps refusals that retrying cannot fix to KAFKA_REJECTED', () => {
    expect(toKafkaError(protocolError('PRODUCER_FENCED', false), 'commit')).toMatchObject({
      code: 'KAFKA_REJECTED',
      retryable: false,
    });
    // kafkajs' typings omit the constructor arguments its retrier really passes.
    const SaslError = kafkajs.KafkaJSSASLAuthenticationError as unknown as new (message: string) => Error;
    const NonRetriable = kafkajs.KafkaJSNonRetriableError as unknown as new (
      e: Error,
      o: { cause: Error },
    ) => Error;
    const sasl = new SaslError('SASL SCRAM SHA512 authentication failed');
    expect(toKafkaError(new NonRetriable(sasl, { cause: sasl }), 'connect')).toMatchObject({
      code: 'KAFKA_REJECTED',
    });
    expect(toKafkaError(protocolError('INVALID_REQUEST', false), 'send')).toMatchObject({
      code: 'KAFKA_REJECTED',
    });
  });

  it('treats a lost producer sequence (a broker restart) as transient: the producer is replaced', () => {
    // What kafkajs threw at the extractor after a broker restart: the send had failed with
    // NOT_LEADER_FOR_PARTITION, and kafkajs' sequence was then ahead of the broker's.
    const lost = protocolError('OUT_OF_ORDER_SEQUENCE_NUMBER', false);
    expect(isProducerStateLost(lost)).toBe(true);
    expect(isProducerStateLost(new kafkajs.KafkaJSNumberOfRetriesExceeded(lost, retries))).toBe(true);
    expect(isProducerStateLost(protocolError('UNKNOWN_PRODUCER_ID', false))).toBe(true);
    expect(isProducerStateLost(protocolError('NOT_LEADER_FOR_PARTITION', true))).toBe(false);
    expect(toKafkaError(lost, 'send')).toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
      retryable: true,
      context: { operation: 'send', kafkaType: 'OUT_OF_ORDER_SEQUENCE_NUMBER' },
    });
  });

  it('leaves PipelineErrors and non-kafkajs errors alone', () => {
    const mine = new PipelineError('SCHEMA_MISMATCH', 'x');
    const bug = new TypeError('x is undefined');
    expect(toKafkaError(mine, 'send')).toBe(mine);
    expect(toKafkaError(bug, 'send')).toBe(bug);
  });

  it('recognises group rebalance errors anywhere in the cause chain', () => {
    expect(isRebalanceError(protocolError('REBALANCE_IN_PROGRESS', true))).toBe(true);
    expect(
      isRebalanceError(
        new kafkajs.KafkaJSNumberOfRetriesExceeded(protocolError('ILLEGAL_GENERATION', true), retries),
      ),
    ).toBe(true);
    expect(isRebalanceError(protocolError('NOT_LEADER_FOR_PARTITION', true))).toBe(false);
    expect(isRebalanceError(new Error('REBALANCE_IN_PROGRESS'))).toBe(false);
  });
});
