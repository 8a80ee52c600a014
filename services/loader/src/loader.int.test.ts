import { PipelineError } from '@ehrflow/errors';
import type { Admin } from '@ehrflow/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, waitFor } from '@ehrflow/testing';
import { registerJson } from '@ehrflow/contracts/testing';
import { loaderLag } from './lag.ts';
import { startLoader, type Loader, type LoaderOptions } from './loader.ts';
import { KIND_HEADER } from './rows.ts';
import { cleanPatient, cleanPatientSchema } from './testing/clean-fixtures.ts';
import { schemaFile } from './testing/pipeline-fixtures.ts';
import { produceValues, testCodec, testKafka, testLogger, testRegistry } from './testing/kafka.ts';
import { testDatabase, uniqueSuffix, type TestDatabase } from './testing/pg.ts';

const suffix = uniqueSuffix();
const prefix = `t.${suffix}.clean.`;
const topic = `${prefix}Patient`;
const subject = `${topic}-value`;
const deletionsTopic = `${prefix}deletions`;
const G_MAIN = `g-main-${suffix}`;
const G_FAIL = `g-fail-${suffix}`;

describe('loader against Kafka, the registry and PostgreSQL', () => {
  const kafka = testKafka(`loader-it-${suffix}`);
  const registry = testRegistry();
  const codec = testCodec(registry);
  let admin: Admin;
  let db: TestDatabase;

  beforeAll(async () => {
    admin = kafka.kafkajs.admin();
    await admin.connect();
    await createTopics(admin, [topic, deletionsTopic], 3);
    await registerJson(registry, subject, cleanPatientSchema());
    await registerJson(registry, `${deletionsTopic}-value`, schemaFile('pipeline/deletion.avsc'));
    db = testDatabase();
  });
  afterAll(async () => {
    await deleteTopics(admin, [topic, deletionsTopic]);
    await admin.deleteGroups([G_MAIN, G_FAIL]).catch(() => undefined);
    await admin.disconnect();
    await registry.deleteSubject(subject).catch(() => undefined);
    await registry.deleteSubject(`${deletionsTopic}-value`).catch(() => undefined);
    await registry.close();
    await db.close();
  });

  function start(groupId: string, extra: Partial<LoaderOptions> = {}): Promise<Loader> {
    return startLoader({
      kafka,
      registry,
      pool: db.pool,
      logger: testLogger(),
      schema: db.schema,
      groupId,
      resourceTypes: ['Patient'],
      topicPrefix: prefix,
      maxBatch: 50,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxWaitTimeMs: 200,
      retry: { initialMs: 20, maxMs: 200 },
      ...extra,
    });
  }

  async function storedTotal(groupId: string): Promise<number> {
    const res = await db.pool.query<{ n: string | null }>(
      `SELECT sum(next_offset) AS n FROM "${db.schema}".loader_offsets WHERE group_id = $1`,
      [groupId],
    );
    return Number(res.rows[0]?.n ?? 0);
  }

  async function endTotal(): Promise<number> {
    const ends = await admin.fetchTopicOffsets(topic);
    return ends.reduce((sum, p) => sum + Number(p.high), 0);
  }

  it('loads every record once, stores positions at the topic end, and resumes after a restart without re-reading', async () => {
    const job = `job-a-${suffix}`;
    await produceValues(
      kafka,
      codec,
      topic,
      Array.from({ length: 300 }, (_, i) => cleanPatient({ logicalId: `a${i}`, versionId: '1', jobId: job })),
    );
    let loader = await start(G_MAIN);
    expect(loader.migration.created).toEqual(['patient']);
    await waitFor(async () => (await storedTotal(G_MAIN)) === (await endTotal()), {
      timeoutMs: 60_000,
      what: 'positions at the end',
    });
    expect(await db.count('patient', 'job_id = $1', [job])).toBe(300);
    expect(loader.counters()).toMatchObject({ upserted: 300, skipped: 0, rejected: 0 });
    await loader.stop();

    // More records while stopped; the restarted loader starts at the stored positions.
    await produceValues(
      kafka,
      codec,
      topic,
      Array.from({ length: 100 }, (_, i) =>
        cleanPatient({ logicalId: `a${i}`, versionId: '2', jobId: job, gender: 'other' }),
      ),
    );
    loader = await start(G_MAIN);
    await waitFor(async () => (await storedTotal(G_MAIN)) === (await endTotal()), {
      timeoutMs: 60_000,
      what: 'positions at the end after restart',
    });
    const c = loader.counters();
    await loader.stop();
    expect({ consumed: c.consumed, upserted: c.upserted, skipped: c.skipped }).toEqual({
      consumed: 100,
      upserted: 100,
      skipped: 0,
    });
    expect(await db.count('patient', "gender = 'other'")).toBe(100);
    expect(await db.count('loader_ledger', 'job_id = $1', [job])).toBe(400);
  });

  it('applies deletes marked by header', async () => {
    const job = `job-d-${suffix}`;
    await produceValues(
      kafka,
      codec,
      topic,
      [cleanPatient({ logicalId: 'd1', versionId: '1', jobId: job })],
      { key: () => 'same' },
    );
    await produceValues(
      kafka,
      codec,
      topic,
      [cleanPatient({ logicalId: 'd1', versionId: '2', jobId: job })],
      {
        key: () => 'same',
        headers: { [KIND_HEADER]: 'DELETE' },
      },
    );
    const loader = await start(G_MAIN);
    await waitFor(async () => (await storedTotal(G_MAIN)) === (await endTotal()), {
      timeoutMs: 60_000,
      what: 'positions at the end',
    });
    await loader.stop();
    expect(await db.count('patient', "logical_id = 'd1' AND _deleted_at IS NOT NULL")).toBe(1);
    expect(await db.count('loader_ledger', "job_id = $1 AND kind = 'delete'", [job])).toBe(1);
  });

  it('commits rows and positions in one transaction: a failure before COMMIT leaves neither, the retry loads once', async () => {
    const group = G_FAIL;
    const job = `job-f-${suffix}`;
    // A fresh group reads the whole topic again into the same tables: every record is old news
    // except the new job's, which we count.
    await produceValues(
      kafka,
      codec,
      topic,
      Array.from({ length: 60 }, (_, i) => cleanPatient({ logicalId: `f${i}`, versionId: '1', jobId: job })),
    );
    let failing = true;
    let failures = 0;
    const loader = await start(group, {
      beforeCommit: () => {
        if (failing) {
          failures++;
          throw new PipelineError('DATABASE_UNAVAILABLE', 'injected failure before COMMIT');
        }
      },
    });
    await waitFor(() => failures >= 3, { timeoutMs: 30_000, what: 'injected failures' });
    // Rows were inserted and positions updated inside the failed transactions: none is visible.
    expect(await db.count('patient', 'job_id = $1', [job])).toBe(0);
    expect(await db.count('loader_offsets', 'group_id = $1', [group])).toBe(0);
    expect(await db.count('loader_ledger', 'job_id = $1', [job])).toBe(0);
    failing = false;
    await waitFor(async () => (await storedTotal(group)) === (await endTotal()), {
      timeoutMs: 60_000,
      what: 'positions at the end',
    });
    const c = loader.counters();
    await loader.stop();
    expect(c.retries).toBeGreaterThanOrEqual(3);
    expect(await db.count('patient', 'job_id = $1', [job])).toBe(60);
    expect(await db.count('loader_ledger', 'job_id = $1', [job])).toBe(60);
  });
  it('stores positions past transaction markers and aborted records, so a caught-up loader shows no lag', async () => {
    const job = `job-tx-${suffix}`;
    const producer = kafka.kafkajs.producer({
      transactionalId: `tx-${suffix}`,
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const transaction = async (t: number, commit: boolean) => {
      const tx = await producer.transaction();
      const messages = [];
      for (let i = 0; i < 10; i++) {
        const value = cleanPatient({ logicalId: `tx${t}-${i}`, versionId: '1', jobId: job });
        messages.push({ key: `k${i}`, value: await codec.encode(subject, value) });
      }
      await tx.send({ topic, messages });
      await (commit ? tx.commit() : tx.abort());
    };
    const atEnd = () =>
      waitFor(async () => (await storedTotal(G_MAIN)) === (await endTotal()), {
        timeoutMs: 60_000,
        what: 'positions at the end',
      });
    await producer.connect();
    const loader = await start(G_MAIN);
    try {
      for (let t = 0; t < 3; t++) await transaction(t, true);
      await atEnd();
      // Aborted after the loader caught up: the next fetch holds only aborted records and a
      // marker, which kafkajs never hands to eachBatch.
      await transaction(3, false);
      await atEnd();
      // Bounded wait: the position passes the abort markers on the loader's next fetch.
      const lagOf = async () =>
        (await loaderLag({ admin, pool: db.pool, schema: db.schema, groupId: G_MAIN, topics: [topic] })).map(
          (p) => p.lag,
        );
      await waitFor(async () => (await lagOf()).every((l) => l === 0), {
        timeoutMs: 60_000,
        what: 'loader lag to reach 0 past the abort markers',
      });
      expect(await lagOf()).toEqual([0, 0, 0]);
    } finally {
      await loader.stop();
      await producer.disconnect();
    }
    expect(await db.count('patient', 'job_id = $1', [job])).toBe(30);
  });
  it('shares partitions between two replicas of one group through rebalances, loading each record once', async () => {
    const prefix2 = `t.${suffix}.two.`;
    const topic2 = `${prefix2}Patient`;
    const group = `g-two-${suffix}`;
    const job = `job-two-${suffix}`;
    await createTopics(admin, [topic2], 3);
    await registerJson(registry, `${topic2}-value`, cleanPatientSchema());
    const produce = (from: number, n: number) =>
      produceValues(
        kafka,
        testCodec(registry),
        topic2,
        Array.from({ length: n }, (_, i) =>
          cleanPatient({ logicalId: `two${from + i}`, versionId: '1', jobId: job }),
        ),
        { key: (_v, i) => `patient-${(from + i) % 37}` },
      );
    const end2 = async () =>
      (await admin.fetchTopicOffsets(topic2)).reduce((sum, p) => sum + Number(p.high), 0);
    const atEnd = (what: string) =>
      waitFor(async () => (await storedTotal(group)) === (await end2()), { timeoutMs: 60_000, what });
    try {
      const a = await start(group, { topicPrefix: prefix2, deletions: false });
      await produce(0, 1500);
      const b = await start(group, { topicPrefix: prefix2, deletions: false });
      await waitFor(() => a.ready() && b.ready(), { timeoutMs: 60_000, what: 'both replicas in the group' });
      await produce(1500, 1500);
      await atEnd('positions at the end with two replicas');
      const ca = a.counters();
      await a.stop();
      await produce(3000, 500);
      await atEnd('positions at the end after one replica left');
      const cb = b.counters();
      await b.stop();
      expect(await db.count('patient', 'job_id = $1', [job])).toBe(3500);
      expect(await db.count('loader_ledger', 'job_id = $1', [job])).toBe(3500);
      // Each record applied once between the two replicas: a second application would be counted
      // as ignored (equal version); a redelivery after a rebalance is skipped by position.
      expect(ca.upserted + cb.upserted).toBe(3500);
      expect(ca.ignored + cb.ignored).toBe(0);
      expect(ca.upserted).toBeGreaterThan(0);
      expect(cb.upserted).toBeGreaterThan(0);
    } finally {
      await deleteTopics(admin, [topic2]);
      await admin.deleteGroups([group]).catch(() => undefined);
      await registry.deleteSubject(`${topic2}-value`).catch(() => undefined);
    }
  });
});
