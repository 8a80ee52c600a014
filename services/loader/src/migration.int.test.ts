import { isPipelineError } from '@ehrflow/errors';
import type { Admin } from '@ehrflow/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, waitFor } from '@ehrflow/testing';
import { registerJson } from '@ehrflow/contracts/testing';
import { startLoader, type Loader } from './loader.ts';
import { cleanPatient, cleanPatientSchema } from './testing/clean-fixtures.ts';
import { produceValues, testCodec, testKafka, testLogger, testRegistry } from './testing/kafka.ts';
import { testDatabase, uniqueSuffix, type TestDatabase } from './testing/pg.ts';

const suffix = uniqueSuffix();
const prefix = `t.${suffix}.mig.`;
const topic = `${prefix}Patient`;
const subject = `${topic}-value`;
const GROUP = `g-mig-${suffix}`;

const ethnicity = { name: 'ethnicityCode', type: ['null', 'string'], default: null, phi: 'none' };
const smoker = { name: 'smokerSince', type: ['null', 'long'], default: null, phi: 'none' };

describe('schema evolution of the clean tables', () => {
  const kafka = testKafka(`loader-mig-${suffix}`);
  const registry = testRegistry();
  let admin: Admin;
  let db: TestDatabase;

  beforeAll(async () => {
    admin = kafka.kafkajs.admin();
    await admin.connect();
    await createTopics(admin, [topic], 1);
    await registerJson(registry, subject, cleanPatientSchema());
    db = testDatabase();
  });
  afterAll(async () => {
    await deleteTopics(admin, [topic]);
    await admin.deleteGroups([GROUP]).catch(() => undefined);
    await admin.disconnect();
    await registry.deleteSubject(subject).catch(() => undefined);
    await registry.close();
    await db.close();
  });

  const start = (): Promise<Loader> =>
    startLoader({
      kafka,
      registry,
      pool: db.pool,
      logger: testLogger(),
      schema: db.schema,
      groupId: GROUP,
      resourceTypes: ['Patient'],
      // Upserts only: this run has no deletions topic.
      deletions: false,
      topicPrefix: prefix,
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1_000,
      maxWaitTimeMs: 200,
    });

  async function columns(): Promise<Record<string, string>> {
    const res = await db.pool.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'patient'`,
      [db.schema],
    );
    return Object.fromEntries(res.rows.map((r) => [r.column_name, r.data_type]));
  }

  async function caughtUp(): Promise<boolean> {
    const [end] = await admin.fetchTopicOffsets(topic);
    const res = await db.pool.query<{ n: string }>(
      `SELECT next_offset AS n FROM "${db.schema}".loader_offsets WHERE group_id = $1`,
      [GROUP],
    );
    return res.rows[0]?.n === end?.high;
  }

  it('adds a column at start for a new optional field, and records the migration', async () => {
    const first = await start();
    await first.stop();
    expect(await columns()).not.toHaveProperty('ethnicity_code');

    await registerJson(registry, subject, cleanPatientSchema([ethnicity]));
    const loader = await start();
    expect(loader.migration.added).toEqual([{ table: 'patient', column: 'ethnicity_code' }]);
    expect((await columns()).ethnicity_code).toBe('text');
    const recorded = await db.pool.query<{
      action: string;
      column_name: string;
      subject: string;
      statement: string;
    }>(
      `SELECT action, column_name, subject, statement FROM "${db.schema}".loader_migrations WHERE action = 'add_column'`,
    );
    expect(recorded.rows).toEqual([
      expect.objectContaining({
        action: 'add_column',
        column_name: 'ethnicity_code',
        subject,
        statement: expect.stringContaining('ADD COLUMN "ethnicity_code" text'),
      }),
    ]);

    // Records of the new version fill the column.
    await produceValues(kafka, testCodec(registry), topic, [
      cleanPatient({ logicalId: 'm1', versionId: '1', ethnicityCode: 'x-1' }),
    ]);
    await waitFor(caughtUp, { timeoutMs: 60_000, what: 'the loader to catch up' });
    await loader.stop();
    expect(await db.count('patient', "ethnicity_code = 'x-1'")).toBe(1);
  });

  it('adds a column at run time when records of a newer registered version arrive', async () => {
    const loader = await start();
    await registerJson(registry, subject, cleanPatientSchema([ethnicity, smoker]));
    await produceValues(kafka, testCodec(registry), topic, [
      cleanPatient({ logicalId: 'm2', versionId: '1', ethnicityCode: null, smokerSince: 1_700_000_000_000 }),
    ]);
    await waitFor(caughtUp, { timeoutMs: 60_000, what: 'the loader to catch up' });
    const c = loader.counters();
    await loader.stop();
    expect(c.migrations).toBe(1);
    expect((await columns()).smoker_since).toBe('bigint');
    expect(await db.count('patient', 'smoker_since = 1700000000000')).toBe(1);
  });

  async function refusal(schema: unknown): Promise<string> {
    await registry.setCompatibility(subject, 'NONE');
    await registerJson(registry, subject, schema);
    try {
      const loader = await start();
      await loader.stop();
      return 'started';
    } catch (err) {
      return isPipelineError(err) ? `${err.code}: ${err.message}` : String(err);
    }
  }

  it('refuses to start on a type change of an existing column, naming table, column, old and new type', async () => {
    const retyped = cleanPatientSchema([ethnicity, smoker]) as { fields: { name: string; type: unknown }[] };
    const gender = retyped.fields.find((f) => f.name === 'gender');
    if (gender) gender.type = ['null', 'int'];
    const outcome = await refusal(retyped);
    expect(outcome).toMatch(/^TABLE_INCOMPATIBLE: /);
    expect(outcome).toContain(
      `table ${db.schema}.patient, column gender (field gender): type changed text → integer`,
    );
    expect(outcome).toContain('Avro null | string → null | int');
  });

  it('refuses to start when a required field is removed', async () => {
    const removed = cleanPatientSchema([ethnicity, smoker]) as { fields: { name: string }[] };
    removed.fields = removed.fields.filter((f) => f.name !== 'birthDate');
    const outcome = await refusal(removed);
    expect(outcome).toContain(
      `table ${db.schema}.patient, column birth_date (field birthDate): required field removed`,
    );
    // Nothing was changed by the refused start.
    expect((await columns()).birth_date).toBe('text');
  });
});
