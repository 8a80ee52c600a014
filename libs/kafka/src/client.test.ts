// As @ehrflow/kafka's entry point does: the patches load before kafkajs (module-swap.ts).
import './crc32c-patch.ts';
import './grouping-patch.ts';
import './txn-retry-patch.ts';
import { createRequire } from 'node:module';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createKafka, toKafkaJsConfig, type KafkaClientConfig } from './client.ts';
import { memoryLogger, type LogLine } from './testing/kafka.ts';
import { kafkaLogCreator, kafkaLogLevel } from './log-bridge.ts';
import { patchKafkaJsRequestQueue } from './request-queue-patch.ts';

function config(overrides: Partial<KafkaClientConfig> = {}): KafkaClientConfig {
  return {
    brokers: 'a:9092, b:9092',
    clientId: 'svc',
    logger: memoryLogger(),
    mode: 'development',
    ...overrides,
  };
}

describe('toKafkaJsConfig', () => {
  it('splits the broker string, disables TLS by default and applies tuned retries', () => {
    const cfg = toKafkaJsConfig(config());
    expect(cfg.brokers).toEqual(['a:9092', 'b:9092']);
    expect(cfg.ssl).toBe(false);
    expect(cfg.sasl).toBeUndefined();
    expect(cfg.retry).toMatchObject({ retries: 8, initialRetryTime: 300, maxRetryTime: 8_000 });
    expect(cfg.logLevel).toBe(logLevel.INFO);
  });

  it('maps TLS with a CA and SASL/SCRAM', () => {
    const cfg = toKafkaJsConfig(
      config({
        ssl: { ca: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----' },
        sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
      }),
    );
    expect(cfg.ssl).toEqual({
      rejectUnauthorized: true,
      ca: ['-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----'],
    });
    expect(cfg.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  });

  it('refuses an empty broker list', () => {
    expect(() => toKafkaJsConfig(config({ brokers: ' , ' }))).toThrow(RangeError);
  });

  it('turns kafkajs debug logging on only when the logger is at debug', () => {
    const debugLogger = { ...memoryLogger(), isLevelEnabled: (level: string) => level === 'debug' };
    expect(kafkaLogLevel(debugLogger)).toBe(logLevel.DEBUG);
    expect(kafkaLogLevel({ ...memoryLogger(), isLevelEnabled: () => false })).toBe(logLevel.INFO);
  });
});

describe('createKafka warnings', () => {
  const warnings = (overrides: Partial<KafkaClientConfig>) => {
    const lines: LogLine[] = [];
    createKafka(config({ logger: memoryLogger(lines), ...overrides }));
    return lines.filter((l) => l.level === 'warn').map((l) => l.msg);
  };

  it('leaves the plaintext and SASL warnings to whoever read the transport (once per process)', () => {
    const sasl = { mechanism: 'plain', username: 'u', password: 'p' } as const;
    expect(warnings({ mode: 'production' })).toEqual([]);
    expect(warnings({ mode: 'development', sasl })).toEqual([]);
  });

  it('warns about disabled certificate checks outside development', () => {
    expect(warnings({ mode: 'production', ssl: { rejectUnauthorized: false } })).toEqual([
      'Kafka TLS certificate verification is disabled',
    ]);
    expect(warnings({ mode: 'development', ssl: { rejectUnauthorized: false } })).toEqual([]);
  });
});

describe('kafkajs log bridge', () => {
  const entry = (level: logLevel, log: Record<string, unknown>) => ({
    namespace: 'Connection',
    level,
    label: 'x',
    log: { timestamp: 't', message: 'Response Produce(key: 0, version: 7)', ...log },
  });

  it('forwards namespaced, level-mapped lines with only allow-listed fields', () => {
    const lines: LogLine[] = [];
    const log = kafkaLogCreator(memoryLogger(lines))(logLevel.DEBUG);
    log(
      entry(logLevel.ERROR, {
        broker: 'b:9092',
        correlationId: 7,
        payload: { records: ['CANARY-PHI-VALUE'] },
        response: 'CANARY-PHI-VALUE',
        stack: 'Error: at ...',
        error: new Error('Connection timeout'),
      }),
    );
    log(entry(logLevel.WARN, {}));
    log(entry(logLevel.INFO, {}));
    log(entry(logLevel.DEBUG, {}));
    log(entry(logLevel.NOTHING, {}));

    expect(lines.map((l) => l.level)).toEqual(['error', 'warn', 'info', 'debug']);
    expect(lines[0]?.obj).toEqual({
      component: 'kafkajs',
      ns: 'Connection',
      broker: 'b:9092',
      correlationId: 7,
      error: 'Error: Connection timeout',
    });
    expect(JSON.stringify(lines)).not.toContain('CANARY-PHI-VALUE');
  });

  it('demotes the idempotent-retries notice, which our bounded retries make expected', () => {
    const lines: LogLine[] = [];
    kafkaLogCreator(memoryLogger(lines))(logLevel.INFO)({
      namespace: 'Producer',
      level: logLevel.WARN,
      label: 'WARN',
      log: {
        timestamp: 't',
        message: 'Limiting retries for the idempotent producer may invalidate EoS guarantees',
      },
    });
    expect(lines.map((l) => l.level)).toEqual(['debug']);
  });

  it('demotes the coordinator’s CONCURRENT_TRANSACTIONS answer to AddPartitionsToTxn, which is retried at once', () => {
    const lines: LogLine[] = [];
    const log = (request: string, error: string) =>
      kafkaLogCreator(memoryLogger(lines))(logLevel.INFO)({
        namespace: 'Connection',
        level: logLevel.ERROR,
        label: 'ERROR',
        log: { timestamp: 't', message: `Response ${request}(key: 24, version: 1)`, error, correlationId: 3 },
      });
    log(
      'AddPartitionsToTxn',
      'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
    );
    log('AddPartitionsToTxn', 'The producer attempted to use a producer id which is currently assigned');
    log(
      'EndTxn',
      'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
    );
    expect(lines.map((l) => l.level)).toEqual(['debug', 'error', 'error']);
  });
});

describe('kafkajs request-queue patch (TimeoutNegativeWarning, kafkajs #1751)', () => {
  interface Queue {
    pending: unknown[];
    throttleCheckTimeoutId: NodeJS.Timeout | null;
    scheduleCheckPendingRequests(): void;
    destroy(): void;
  }
  const require = createRequire(import.meta.url);
  const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as new (o: object) => Queue;
  const noopLogger = { debug: () => undefined, warn: () => undefined };
  const queue = () =>
    new RequestQueue({
      maxInFlightRequests: 1,
      requestTimeout: 1000,
      clientId: 'c',
      broker: 'b',
      logger: noopLogger,
    });

  it('is applied once', () => {
    expect(['applied', 'already-applied']).toContain(patchKafkaJsRequestQueue());
    expect(patchKafkaJsRequestQueue()).toBe('already-applied');
  });

  it('schedules no timer for an empty queue, and still does for pending requests', () => {
    patchKafkaJsRequestQueue();
    const idle = queue();
    idle.scheduleCheckPendingRequests();
    expect(idle.throttleCheckTimeoutId).toBeNull();

    const busy = queue();
    busy.pending.push({});
    busy.scheduleCheckPendingRequests();
    expect(busy.throttleCheckTimeoutId).not.toBeNull();
    busy.destroy();
  });
});
