import type { Admin } from '@ehrflow/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, waitFor } from '@ehrflow/testing';
import { registerJson } from '@ehrflow/contracts/testing';
import { runCli } from './cli.ts';
import { startLoader } from './loader.ts';
import { pipelineTopics, reconcile, type ReconcileDeps, type ReconcileResult } from './reconcile.ts';
import { cleanPatient, cleanPatientSchema } from './testing/clean-fixtures.ts';
import {
  produceValues,
  testCodec,
  testKafka,
  testLogger,
  testRegistry,
  TEST_BROKERS,
  TEST_REGISTRY_URL,
} from './testing/kafka.ts';
import {
  deletion,
  jobEvent,
  quarantineRecord,
  rawEnvelope,
  schemaFile,
  validPatient,
} from './testing/pipeline-fixtures.ts';
import { TEST_DATABASE_URL, testDatabase, uniqueSuffix, type TestDatabase } from './testing/pg.ts';

const suffix = uniqueSuffix();
const prefix = `t.${suffix}.`;
const topics = pipelineTopics(prefix, ['Patient']);
const deletionTopics = topics.deletions ?? { valid: '', clean: '' };
const allTopics = [
  topics.raw,
  topics.jobs,
  topics.quarantine,
  topics.valid.Patient as string,
  topics.clean.Patient as string,
  deletionTopics.valid,
  deletionTopics.clean,
];
const JOB_OK = `job-ok-${suffix}`;
const JOB_GAP = `job-gap-${suffix}`;
const JOB_DEL = `job-del-${suffix}`;
const JOB_PART = `job-part-${suffix}`;
const JOB_PART_RETRY = `job-part-retry-${suffix}`;
const JOB_PART_OPEN = `job-part-open-${suffix}`;

describe('reconciliation per job', () => {
  const kafka = testKafka(`loader-rec-${suffix}`);
  const registry = testRegistry();
  let admin: Admin;
  let db: TestDatabase;
  let deps: ReconcileDeps;

  beforeAll(async () => {
    admin = kafka.kafkajs.admin();
    await admin.connect();
    await createTopics(admin, allTopics, 2);
    await registerJson(registry, `${topics.raw}-value`, schemaFile('pipeline/raw-envelope.avsc'));
    await registerJson(registry, `${topics.jobs}-value`, schemaFile('pipeline/job-event.avsc'));
    await registerJson(registry, `${topics.quarantine}-value`, schemaFile('pipeline/quarantine-record.avsc'));
    await registerJson(registry, `${topics.valid.Patient}-value`, schemaFile('fhir/Patient.avsc'));
    await registerJson(registry, `${topics.clean.Patient}-value`, cleanPatientSchema());
    for (const t of [deletionTopics.valid, deletionTopics.clean])
      await registerJson(registry, `${t}-value`, schemaFile('pipeline/deletion.avsc'));
    db = testDatabase();
    const codec = testCodec(registry);
    const put = (topic: string | undefined, values: Record<string, unknown>[]) =>
      produceValues(kafka, codec, topic as string, values);

    // JOB_OK: 8 read, 1 reported error, 2 source duplicates (a resource the source listed again);
    // 5 raw; r4 quarantined then replayed (valid), r5 quarantined; r1 delivered twice to valid and
    // clean (an at-least-once redelivery). Another job's records are noise.
    await put(topics.jobs, [
      jobEvent(JOB_OK, { read: 8, produced: 5, deleted: 0, errors: 1, duplicates: 2 }, 'running'),
      jobEvent(JOB_OK, { read: 8, produced: 5, deleted: 0, errors: 1, duplicates: 2 }),
    ]);
    // JOB_PART: the source reported 2 error entries (partial); its retry-failed job completed.
    // JOB_PART_OPEN: partial because 2 Patients were too large for the raw topic, not retried.
    const entries = { byType: { Patient: 2 }, issueCodes: { exception: 2 } };
    await put(topics.jobs, [
      jobEvent(JOB_PART, { read: 2, produced: 0, deleted: 0, errors: 2 }, 'partial', {
        reason: 'source_errors',
        errorEntries: entries,
      }),
      jobEvent(JOB_PART_RETRY, { read: 0, produced: 0, deleted: 0, errors: 0 }, 'completed', {
        parentJobId: JOB_PART,
      }),
      jobEvent(JOB_PART_OPEN, { read: 2, produced: 0, deleted: 0, errors: 2 }, 'partial', {
        reason: 'records_too_large',
        tooLargeByType: { Patient: 2 },
      }),
    ]);
    await put(
      topics.raw,
      [1, 2, 3, 4, 5]
        .map((i) => rawEnvelope(JOB_OK, `ok-r${i}`, 'Patient'))
        .concat([rawEnvelope('other-job', 'x-r1', 'Patient')]),
    );
    await put(topics.quarantine, [quarantineRecord(JOB_OK, 'ok-r4'), quarantineRecord(JOB_OK, 'ok-r5')]);
    await put(
      topics.valid.Patient,
      [1, 1, 2, 3, 4]
        .map((i) => validPatient(JOB_OK, `ok-r${i}`, `p${i}`))
        .concat([validPatient('other-job', 'x-r1', 'x1')]),
    );
    const clean = (job: string, i: number, tag: string) => ({
      ...cleanPatient({ logicalId: `${tag}${i}`, versionId: '1', jobId: job }),
      recordId: `${tag}-r${i}`,
    });
    await put(
      topics.clean.Patient,
      [1, 1, 2, 3, 4].map((i) => clean(JOB_OK, i, 'ok')),
    );

    // JOB_GAP: 3 read, 3 raw, 3 valid, but only 2 clean (one record lost between stages).
    await put(topics.jobs, [jobEvent(JOB_GAP, { read: 3, produced: 3, deleted: 0, errors: 0 })]);
    await put(
      topics.raw,
      [1, 2, 3].map((i) => rawEnvelope(JOB_GAP, `gap-r${i}`, 'Patient')),
    );
    await put(
      topics.valid.Patient,
      [1, 2, 3].map((i) => validPatient(JOB_GAP, `gap-r${i}`, `g${i}`)),
    );
    await put(
      topics.clean.Patient,
      [1, 2].map((i) => clean(JOB_GAP, i, 'gap')),
    );

    // JOB_DEL (a _since export): 5 read = 2 upserts + 3 deletions; one DELETE quarantined by the
    // validator (malformed payload); the other two travel both deletion topics (one redelivered)
    // and become tombstones of rows JOB_OK created. A deletion of a type not reconciled is noise.
    await put(topics.jobs, [jobEvent(JOB_DEL, { read: 5, produced: 2, deleted: 3, errors: 0 })]);
    await put(topics.raw, [
      rawEnvelope(JOB_DEL, 'del-u1', 'Patient'),
      rawEnvelope(JOB_DEL, 'del-u2', 'Patient'),
      ...[1, 2, 3].map((i) => rawEnvelope(JOB_DEL, `del-d${i}`, 'Patient', 'DELETE')),
    ]);
    await put(topics.quarantine, [quarantineRecord(JOB_DEL, 'del-d3')]);
    await put(
      topics.valid.Patient,
      [1, 2].map((i) => validPatient(JOB_DEL, `del-u${i}`, `du${i}`)),
    );
    await put(
      topics.clean.Patient,
      [1, 2].map((i) => ({ ...clean(JOB_DEL, i, 'du'), recordId: `del-u${i}` })),
    );
    const deleted = [
      deletion(JOB_DEL, 'del-d1', 'Patient', 'ok1'),
      deletion(JOB_DEL, 'del-d2', 'Patient', 'ok2'),
    ];
    await put(deletionTopics.valid, [...deleted, deletion(JOB_DEL, 'del-x1', 'Observation', 'o1')]);

    const loader = await startLoader({
      kafka,
      registry,
      pool: db.pool,
      logger: testLogger(),
      schema: db.schema,
      groupId: `g-rec-${suffix}`,
      resourceTypes: ['Patient'],
      topicPrefix: `${prefix}clean.`,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxWaitTimeMs: 200,
    });
    await waitFor(async () => (await db.count('loader_ledger')) === 8, {
      timeoutMs: 60_000,
      what: 'the loader to load the upserts of the three jobs',
    });
    // The clean deletions only now: a tombstone that overtook the upsert of its row would be
    // undone by it (a deletion carries no version; see docs/architecture.md).
    await put(deletionTopics.clean, [...deleted, deleted[0] as Record<string, unknown>]);
    await waitFor(async () => (await db.count('loader_ledger')) === 10, {
      timeoutMs: 60_000,
      what: 'the loader to load the deletions',
    });
    await loader.stop();
    deps = { kafka, codec, pool: db.pool, schema: db.schema, topics };
  });
  afterAll(async () => {
    await deleteTopics(admin, allTopics);
    await admin.deleteGroups([`g-rec-${suffix}`]).catch(() => undefined);
    await admin.disconnect();
    for (const t of allTopics) await registry.deleteSubject(`${t}-value`).catch(() => undefined);
    await registry.close();
    await db.close();
  });

  const byStage = (r: ReconcileResult) =>
    Object.fromEntries(r.rows.map((row) => [row.stage, { count: row.count, gap: row.gap }]));

  it('reconciles a job whose every record is accounted for, counting distinct records per stage', async () => {
    const result = await reconcile(JOB_OK, deps);
    expect(byStage(result)).toEqual({
      source_read: { count: 8, gap: null },
      source_errors: { count: 1, gap: null },
      // Explained, not a gap: raw = read - errors - duplicates.
      source_duplicates: { count: 2, gap: null },
      raw: { count: 5, gap: 0 },
      valid: { count: 4, gap: null },
      quarantined: { count: 1, gap: null },
      valid_plus_quarantined: { count: 5, gap: 0 },
      clean: { count: 4, gap: 0 },
      loaded: { count: 4, gap: 0 },
    });
    expect(result.job?.state).toBe('completed');
    expect(result.byType.Patient).toEqual({ raw: 5, valid: 4, quarantined: 1, clean: 4, loaded: 4 });
    expect(result.notes).toEqual([expect.stringContaining('listed 2 resource(s) more than once')]);
    expect(result.reconciled).toBe(true);
  });

  it('closes a partial job once its retry-failed job completed, and not before', async () => {
    const retried = await reconcile(JOB_PART, deps);
    expect(retried.job?.state).toBe('partial');
    expect(retried.retriedBy).toEqual({ jobId: JOB_PART_RETRY, state: 'completed' });
    expect(retried.notes).toContain('job state is partial: the source reported 2 error entries (Patient)');
    expect(retried.reconciled).toBe(true);
    const open = await reconcile(JOB_PART_OPEN, deps);
    expect(open.retriedBy).toBeNull();
    expect(open.notes).toContain(
      'job state is partial: 2 resources were larger than the raw topic takes (Patient), counted in source errors',
    );
    expect(open.notes.some((n) => n.includes('error entr'))).toBe(false);
    expect(open.notes.some((n) => n.includes(`POST /jobs/${JOB_PART_OPEN}/retry-failed`))).toBe(true);
    expect(open.reconciled).toBe(false);
  });

  it('reconciles a job with deletions: raw DELETEs = reported = valid + quarantined = clean = tombstones', async () => {
    const result = await reconcile(JOB_DEL, deps);
    const deletes = Object.fromEntries(
      result.rows.map((row) => [
        row.stage,
        { count: row.count, deletes: row.deletes, deletesGap: row.deletesGap },
      ]),
    );
    expect(deletes).toMatchObject({
      raw: { count: 5, deletes: 3, deletesGap: 0 },
      valid: { count: 4, deletes: 2 },
      quarantined: { count: 1, deletes: 1 },
      valid_plus_quarantined: { count: 5, deletes: 3, deletesGap: 0 },
      clean: { count: 4, deletes: 2, deletesGap: 0 },
      loaded: { count: 4, deletes: 2, deletesGap: 0 },
    });
    expect(result.byType.Patient).toEqual({ raw: 5, valid: 4, quarantined: 1, clean: 4, loaded: 4 });
    expect(result.notes).toEqual([]);
    expect(result.reconciled).toBe(true);
    // The tombstones hit the rows JOB_OK created.
    expect(await db.count('patient', "logical_id IN ('ok1', 'ok2') AND _deleted_at IS NOT NULL")).toBe(2);
  });

  it('flags the stage where one record went missing', async () => {
    const result = await reconcile(JOB_GAP, deps);
    expect(result.reconciled).toBe(false);
    expect(byStage(result).clean).toEqual({ count: 2, gap: -1 });
    // The loader loaded what reached it: its own row has no gap.
    expect(byStage(result).loaded).toEqual({ count: 2, gap: 0 });
  });

  it('prints the table and exits 1 on a gap, 0 when reconciled (CLI)', async () => {
    const env = {
      KAFKA_BROKERS: TEST_BROKERS,
      SCHEMA_REGISTRY_URL: TEST_REGISTRY_URL,
      DATABASE_URL: TEST_DATABASE_URL,
      LOADER_DB_SCHEMA: db.schema,
      EHRFLOW_MODE: 'development',
    };
    const run = async (...args: string[]) => {
      let out = '';
      let err = '';
      const code = await runCli(['reconcile', '--topic-prefix', prefix, '--types', 'Patient', ...args], {
        out: (t) => (out += t),
        err: (t) => (err += t),
        env,
      });
      return { code, out, err };
    };
    const del = await run('--job', JOB_DEL);
    expect(del.code).toBe(0);
    expect(del.out).toMatch(/raw produced\s+t\.\S+\.raw\s+5\s+2\s+3\s+5\s+ok/);
    expect(del.out).toMatch(/loaded\s+\S+\.loader_ledger\s+4\s+2\s+2\s+4\s+ok/);
    const gap = await run('--job', JOB_GAP);
    expect(gap.code).toBe(1);
    expect(gap.out).toMatch(/clean\s+t\.\S+\.clean\.\*\s+2\s+2\s+0\s+3\s+GAP: 1 missing/);
    expect(gap.out).toContain('NOT RECONCILED');
    const ok = await run('--job', JOB_OK, '--json');
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ jobId: JOB_OK, reconciled: true });
    const both = await run('--job', JOB_OK, '--job', JOB_GAP, '--json');
    expect(both.code).toBe(1);
    expect(JSON.parse(both.out)).toMatchObject({
      reconciled: false,
      jobs: [
        { jobId: JOB_OK, reconciled: true },
        { jobId: JOB_GAP, reconciled: false },
      ],
    });
  });
});
