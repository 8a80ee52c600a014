import { createLogger } from '@ehrflow/logging';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaLogCreator } from './log-bridge.ts';
import type { KafkaLogger } from './logger.ts';

describe('kafkajs log bridge with the product logger', () => {
  it('accepts a @ehrflow/logging logger and never lets record bytes through', () => {
    const out: string[] = [];
    const logger: KafkaLogger = createLogger({
      name: 'kafka-test',
      level: 'debug',
      destination: { write: (line: string) => out.push(line) },
    });
    const log = kafkaLogCreator(logger)(logLevel.DEBUG);
    log({
      namespace: 'Connection',
      level: logLevel.DEBUG,
      label: 'DEBUG',
      log: {
        timestamp: 't',
        message: 'Request Produce(key: 0, version: 7)',
        broker: 'kafka-0.kafka:9092',
        payload: { topicData: [{ value: 'CANARY-PHI-7f3a' }] },
        request: 'CANARY-PHI-7f3a',
      },
    });
    expect(out).toHaveLength(1);
    const line = JSON.parse(out[0] ?? '{}') as Record<string, unknown>;
    expect(line).toMatchObject({
      component: 'kafkajs',
      ns: 'Connection',
      broker: 'kafka-0.kafka:9092',
      level: 20,
    });
    expect(out[0]).not.toContain('CANARY-PHI-7f3a');
  });
});
