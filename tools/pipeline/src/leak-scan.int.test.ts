import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from '@ehrflow/kafka';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyring, encryptPayload } from '@ehrflow/phi';
import { leakScanPassed } from './leak-report.ts';
import { runLeakScan } from './leak-scan.ts';

const env = {
  brokers: process.env.KAFKA_BROKERS ?? '127.0.0.1:9092',
  registryUrl: process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
  redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
};

const run = randomUUID().slice(0, 8);
const CANARY = `Quill${run}`;
const topic = `e2e.leak-scan.${run}`;
const prefix = `ehrflow:e2e-leak-${run}:`;
const schema = `e2e_leak_${run}`;
const ring = createKeyring([['k1', randomBytes(32)]]);

describe('runLeakScan against the local stack', () => {
  const kafka = new Kafka({
    brokers: env.brokers.split(','),
    clientId: 'e2e-leak-test',
    logLevel: logLevel.NOTHING,
  });
  const redis = new Redis(env.redisUrl);
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: 1 });

  beforeAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: [
        { key: 'k1', value: Buffer.from('clean bytes') },
        { key: 'k2', value: encryptPayload(ring, Buffer.from(`encrypted ${CANARY}`)) },
        { key: 'k3', value: Buffer.from(`a clear ${CANARY} in a record`) },
      ],
    });
    await producer.disconnect();
    await redis.set(`${prefix}clean`, 'nothing here');
    await redis.hset(`${prefix}leaky`, 'field', `value with ${CANARY}`);
    await pool.query(`create schema ${schema}`);
    await pool.query(`create table ${schema}.patient (id text primary key, record jsonb)`);
    await pool.query(`insert into ${schema}.patient values ('a', '{"note":"fine"}'), ('b', $1)`, [
      JSON.stringify({ note: CANARY }),
    ]);
  });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await pool.query(`drop schema if exists ${schema} cascade`);
    await pool.end();
  });

  it('finds the clear canary in a record, a Redis value and a table row, and passes the encrypted one', async () => {
    const report = await runLeakScan({
      canaries: [CANARY],
      kafka: { brokers: env.brokers, registryUrl: env.registryUrl, topics: [topic], timeoutMs: 60_000 },
      redis: { url: env.redisUrl, pattern: `${prefix}*` },
      postgres: { url: env.databaseUrl, schemas: [schema] },
    });
    expect(report.incomplete).toEqual([]);
    expect(report.scanned).toMatchObject({ kafka: 3, redis: 2, postgres: 2 });
    expect(report.encryptedValuesChecked).toBe(0); // undecodable values are scanned as bytes
    const where = report.hits.map((h) => `${h.source}:${h.kind}`).sort();
    expect(where).toEqual(['kafka:clear', 'postgres:clear', 'redis:clear']);
    expect(report.hits.find((h) => h.source === 'postgres')?.location).toBe(
      `${schema}.patient row 2 record.note`,
    );
    expect(leakScanPassed(report)).toBe(false);
    expect(JSON.stringify(report)).not.toContain(CANARY);
  });
});
