import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { freePort } from '@ehrflow/testing';
import type { KafkaClientConfig } from './client.ts';
import { memoryLogger, type LogLine } from './testing/kafka.ts';
import { createKafkaProbe, probeKafkaJsConfig } from './probe.ts';

function config(brokers: string, lines: LogLine[] = []): KafkaClientConfig {
  return { brokers, clientId: 'probe-test', logger: memoryLogger(lines), mode: 'development' };
}

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

/** A TCP port that accepts connections and never answers (a broker behind a hung link). */
async function silentPort(): Promise<number> {
  const server = createServer((socket) => void sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function failure(p: Promise<unknown>): Promise<PipelineError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PipelineError);
  return err as PipelineError;
}

describe('probeKafkaJsConfig', () => {
  it('keeps brokers, TLS and SASL, and turns retries and kafkajs logging off', () => {
    const cfg = probeKafkaJsConfig(
      {
        ...config('a:9093'),
        ssl: { ca: 'PEM' },
        sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' },
        connectionTimeoutMs: 3000,
      },
      800,
    );
    expect(cfg.brokers).toEqual(['a:9093']);
    expect(cfg.ssl).toEqual({ rejectUnauthorized: true, ca: ['PEM'] });
    expect(cfg.sasl).toMatchObject({ mechanism: 'scram-sha-512' });
    expect(cfg.retry).toEqual({ retries: 0 });
    expect(cfg.logLevel).toBe(logLevel.NOTHING);
    expect([cfg.connectionTimeout, cfg.requestTimeout]).toEqual([800, 800]);
  });
});

describe('createKafkaProbe', () => {
  it('rejects with KAFKA_UNAVAILABLE when nothing listens, without logging through kafkajs', async () => {
    const lines: LogLine[] = [];
    const probe = createKafkaProbe(config(`127.0.0.1:${await freePort()}`, lines), { timeoutMs: 500 });
    try {
      const err = await failure(probe.probe());
      expect(err.code).toBe('KAFKA_UNAVAILABLE');
      // A second probe reconnects from scratch and fails the same way.
      expect((await failure(probe.probe())).code).toBe('KAFKA_UNAVAILABLE');
      expect(lines.filter((l) => l.level === 'error' || l.level === 'warn')).toEqual([]);
    } finally {
      await probe.close();
    }
  });

  it('rejects with KAFKA_UNAVAILABLE when the broker accepts but never answers', async () => {
    const probe = createKafkaProbe(config(`127.0.0.1:${await silentPort()}`), { timeoutMs: 300 });
    try {
      expect((await failure(probe.probe())).code).toBe('KAFKA_UNAVAILABLE');
    } finally {
      await probe.close();
    }
  });
});
