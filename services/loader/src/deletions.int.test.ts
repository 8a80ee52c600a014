/**
 * Deletions through the loader against Kafka, the registry and PostgreSQL: records of the
 * deletions topic become tombstones in the table of their resource type, in the batch transaction
 * that stores the topic's position; rows of other tables and other ids stay untouched; a deletion
 * of a type without a table is kept in loader_rejects; the version order keeps a tombstone against
 * a redelivered upsert of the same version and lets a newer version bring the row back.
 */
import type { Admin } from '@ehrflow/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, waitFor } from '@ehrflow/testing';
import { registerJson } from '@ehrflow/contracts/testing';
import { startLoader, type Loader } from './loader.ts';
import { cleanPatient, cleanPatientSchema } from './testing/clean-fixtures.ts';
import { produceValues, testCodec, testKafka, testLogger, testRegistry } from './testing/kafka.ts';
import { deletion, schemaFile } from './testing/pipeline-fixtures.ts';
import { testDatabase, uniqueSuffix, type TestDatabase } from './testing/pg.ts';

const suffix = uniqueSuffix();
const prefix = `t.${suffix}.clean.`;
// Two tables of the same shape: the clean Patient fixture serves as the Observation schema too.
const TYPES = ['Patient', 'Observation'] as const;
const typeTopics = TYPES.map((t) => `${prefix}${t}`);
const deletionsTopic = `${prefix}deletions`;
const allTopics = [...typeTopics, deletionsTopic];
const GROUP = `g-del-${suffix}`;
const JOB_LOAD = `job-load-${suffix}`;
const JOB_SINCE = `job-since-${suffix}`;

describe('deletions through the loader', () => {
  const kafka = testKafka(`loader-del-${suffix}`);
  const registry = testRegistry();
  const codec = testCodec(registry);
  let admin: Admin;
  let db: TestDatabase;
  let loader: Loader | undefined;

  beforeAll(async () => {
    admin = kafka.kafkajs.admin();
    await admin.connect();
    await createTopics(admin, allTopics, 2);
    for (const t of typeTopics) await registerJson(registry, `${t}-value`, cleanPatientSchema());
    await registerJson(registry, `${deletionsTopic}-value`, schemaFile('pipeline/deletion.avsc'));
    db = testDatabase();
  });
  afterAll(async () => {
    await loader?.stop();
    await deleteTopics(admin, allTopics);
    await admin.deleteGroups([GROUP]).catch(() => undefined);
    await admin.disconnect();
    for (const t of allTopics) await registry.deleteSubject(`${t}-value`).catch(() => undefined);
    await registry.close();
    await db.close();
  });

  async function storedTotal(): Promise<number> {
    const res = await db.pool.query<{ n: string | null }>(
      `SELECT sum(next_offset) AS n FROM "${db.schema}".loader_offsets WHERE group_id = $1`,
      [GROUP],
    );
    return Number(res.rows[0]?.n ?? 0);
  }
  async function endTotal(): Promise<number> {
    let sum = 0;
    for (const t of allTopics) for (const p of await admin.fetchTopicOffsets(t)) sum += Number(p.high);
    return sum;
  }
  const atEnd = (what: string) =>
    waitFor(async () => (await storedTotal()) === (await endTotal()), { timeoutMs: 60_000, what });

  async function rows(table: string) {
    const res = await db.pool.query<{
      logical_id: string;
      job_id: string;
      record_id: string;
      version_id: string | null;
      gender: string | null;
      deleted: boolean;
    }>(
      `SELECT logical_id, job_id, record_id, version_id, gender, _deleted_at IS NOT NULL AS deleted
         FROM "${db.schema}"."${table}" ORDER BY logical_id`,
    );
    return new Map(res.rows.map((r) => [r.logical_id, r]));
  }

  it('tombstones exactly the named rows of the named tables, in the batch transaction with the position', async () => {
    const upsert = (logicalId: string) =>
      cleanPatient({ logicalId, versionId: '1', jobId: JOB_LOAD, gender: 'male' });
    await produceValues(kafka, codec, `${prefix}Patient`, ['p1', 'p2', 'p3', 'shared'].map(upsert));
    await produceValues(kafka, codec, `${prefix}Observation`, ['o1', 'o2', 'shared'].map(upsert));
    loader = await startLoader({
      kafka,
      registry,
      pool: db.pool,
      logger: testLogger(),
      schema: db.schema,
      groupId: GROUP,
      resourceTypes: [...TYPES],
      topicPrefix: prefix,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxWaitTimeMs: 200,
      retry: { initialMs: 20, maxMs: 200 },
    });
    expect(loader.topics).toEqual([...typeTopics, deletionsTopic]);
    await atEnd('the upserts loaded');

    // The deletions of a _since job: Patient "shared" but not Observation "shared"; one id no
    // upsert created (a tombstone row appears); one of a type without a table (rejected).
    await produceValues(kafka, codec, deletionsTopic, [
      deletion(JOB_SINCE, 'd-p1', 'Patient', 'p1'),
      deletion(JOB_SINCE, 'd-shared', 'Patient', 'shared'),
      deletion(JOB_SINCE, 'd-o2', 'Observation', 'o2'),
      deletion(JOB_SINCE, 'd-ghost', 'Patient', 'ghost'),
      deletion(JOB_SINCE, 'd-claim', 'Claim', 'c1'),
    ]);
    await atEnd('the deletions loaded');

    const patients = await rows('patient');
    const observations = await rows('observation');
    const deletedOf = (m: Map<string, { deleted: boolean }>) =>
      [...m].filter(([, r]) => r.deleted).map(([id]) => id);
    expect(deletedOf(patients)).toEqual(['ghost', 'p1', 'shared']);
    expect(deletedOf(observations)).toEqual(['o2']);
    // A tombstone carries the deletion's record and job; the rest of the table is untouched.
    expect(patients.get('p1')).toMatchObject({ job_id: JOB_SINCE, record_id: 'd-p1', deleted: true });
    for (const id of ['p2', 'p3']) {
      expect(patients.get(id)).toMatchObject({
        job_id: JOB_LOAD,
        version_id: '1',
        gender: 'male',
        deleted: false,
      });
    }
    for (const id of ['o1', 'shared']) {
      expect(observations.get(id)).toMatchObject({ job_id: JOB_LOAD, version_id: '1', deleted: false });
    }
    expect(await db.count('loader_ledger', "job_id = $1 AND kind = 'delete'", [JOB_SINCE])).toBe(4);
    expect(
      await db.count('loader_ledger', 'job_id = $1 AND resource_type = $2', [JOB_SINCE, 'Observation']),
    ).toBe(1);
    expect(
      await db.count('loader_rejects', 'topic = $1 AND error_code = $2', [
        deletionsTopic,
        'UNKNOWN_RESOURCE_TYPE',
      ]),
    ).toBe(1);
    expect(loader.counters()).toMatchObject({ deleted: 4, rejected: 1 });
  });

  it('keeps a tombstone against a redelivered upsert of the same version; a newer version brings the row back', async () => {
    await produceValues(kafka, codec, `${prefix}Patient`, [
      cleanPatient({ logicalId: 'p1', versionId: '1', jobId: JOB_LOAD, gender: 'male' }),
      cleanPatient({ logicalId: 'shared', versionId: '2', jobId: JOB_LOAD, gender: 'other' }),
    ]);
    // And a redelivered deletion: already a tombstone, nothing changes.
    await produceValues(kafka, codec, deletionsTopic, [deletion(JOB_SINCE, 'd-o2', 'Observation', 'o2')]);
    await atEnd('the redeliveries loaded');
    const patients = await rows('patient');
    expect(patients.get('p1')).toMatchObject({ deleted: true, record_id: 'd-p1' });
    expect(patients.get('shared')).toMatchObject({ deleted: false, version_id: '2', gender: 'other' });
    expect((await rows('observation')).get('o2')).toMatchObject({ deleted: true, record_id: 'd-o2' });
  });
});
