import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Admin } from '@ehrflow/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, waitFor } from '@ehrflow/testing';
import { registerJson } from '@ehrflow/contracts/testing';
import { migrate } from './migrate.ts';
import { tableModelOf } from './table-model.ts';
import { cleanPatient, cleanPatientSchema } from './testing/clean-fixtures.ts';
import { produceValues, testCodec, testKafka, testRegistry } from './testing/kafka.ts';
import { testDatabase, uniqueSuffix, type TestDatabase } from './testing/pg.ts';

const suffix = uniqueSuffix();
const prefix = `t.${suffix}.crash.`;
const topic = `${prefix}Patient`;
const subject = `${topic}-value`;
const GROUP = `g-crash-${suffix}`;
const N = 20_000;
const WORKER = fileURLToPath(new URL('./testing/loader-worker.ts', import.meta.url));

describe('a loader killed mid-stream (SIGKILL) and restarted', () => {
  const kafka = testKafka(`loader-crash-${suffix}`);
  const registry = testRegistry();
  let admin: Admin;
  let db: TestDatabase;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    admin = kafka.kafkajs.admin();
    await admin.connect();
    // One partition: record i sits at offset i, so a stored position names exactly which rows must exist.
    await createTopics(admin, [topic], 1);
    const schema = cleanPatientSchema();
    await registerJson(registry, subject, schema);
    db = testDatabase();
    // Tables first, so the audit trigger sees every write of the worker.
    await migrate(db.pool, db.schema, [{ model: tableModelOf('Patient', schema), source: { subject } }]);
    await db.pool.query(`CREATE TABLE "${db.schema}".audit (logical_id text NOT NULL)`);
    await db.pool.query(
      `CREATE FUNCTION "${db.schema}".audit_write() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO "${db.schema}".audit VALUES (NEW.logical_id); RETURN NEW; END $$`,
    );
    await db.pool.query(
      `CREATE TRIGGER audit AFTER INSERT OR UPDATE ON "${db.schema}".patient FOR EACH ROW EXECUTE FUNCTION "${db.schema}".audit_write()`,
    );
    await produceValues(
      kafka,
      testCodec(registry),
      topic,
      Array.from({ length: N }, (_, i) =>
        cleanPatient({ logicalId: `c${i}`, versionId: '1', jobId: 'job-crash' }),
      ),
      { partition: 0 },
    );
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await deleteTopics(admin, [topic]);
    await admin.deleteGroups([GROUP]).catch(() => undefined);
    await admin.disconnect();
    await registry.deleteSubject(subject).catch(() => undefined);
    await registry.close();
    await db.close();
  });

  function worker(): ChildProcess {
    const child = spawn(process.execPath, [WORKER], {
      env: {
        ...process.env,
        LOADER_DB_SCHEMA: db.schema,
        LOADER_GROUP_ID: GROUP,
        LOADER_TOPIC_PREFIX: prefix,
        LOADER_RESOURCE_TYPES: 'Patient',
        LOADER_MAX_BATCH: '200',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    return child;
  }

  async function stored(): Promise<number> {
    const res = await db.pool.query<{ n: string }>(
      `SELECT next_offset AS n FROM "${db.schema}".loader_offsets WHERE group_id = $1`,
      [GROUP],
    );
    return Number(res.rows[0]?.n ?? 0);
  }

  it('loses no row and doubles none; at the kill, rows and position match exactly', async () => {
    const first = worker();
    await waitFor(async () => (await stored()) > 0, {
      timeoutMs: 60_000,
      intervalMs: 20,
      what: 'a first committed batch',
    });
    first.kill('SIGKILL');
    await once(first, 'exit');

    // One statement, one snapshot: a COMMIT the killed process had already sent may still land
    // after its exit, and must then show in the rows and the position together.
    const snapshot = await db.pool.query<{ stored: string | null; rows: string; below: string }>(
      `SELECT o.next_offset AS stored,
              (SELECT count(*) FROM "${db.schema}".patient) AS rows,
              (SELECT count(*) FROM "${db.schema}".patient
                WHERE substring(logical_id from 2)::int < coalesce(o.next_offset, 0)) AS below
         FROM (SELECT (SELECT next_offset FROM "${db.schema}".loader_offsets WHERE group_id = $1)) AS o(next_offset)`,
      [GROUP],
    );
    const atKill = Number(snapshot.rows[0]?.stored ?? 0);
    expect(atKill, 'killed mid-stream').toBeGreaterThan(0);
    expect(atKill, 'killed mid-stream').toBeLessThan(N);
    // Exactly the records below the stored position are in the table, no more, no fewer.
    expect(Number(snapshot.rows[0]?.rows)).toBe(atKill);
    expect(Number(snapshot.rows[0]?.below)).toBe(atKill);

    const second = worker();
    await waitFor(async () => (await stored()) === N, {
      timeoutMs: 120_000,
      what: 'the restarted loader to reach the end',
    });
    second.kill('SIGTERM');
    await once(second, 'exit');

    expect(await db.count('patient')).toBe(N);
    expect(await db.count('loader_ledger', "job_id = 'job-crash'")).toBe(N);
    // Every record was written exactly once: one audited write per row.
    expect(await db.count('audit')).toBe(N);
    const dup = await db.pool.query(
      `SELECT logical_id FROM "${db.schema}".audit GROUP BY logical_id HAVING count(*) > 1 LIMIT 1`,
    );
    expect(dup.rowCount).toBe(0);
  });
});
