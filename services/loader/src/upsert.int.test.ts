import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBatch, type BatchRecord } from './load-batch.ts';
import { migrate } from './migrate.ts';
import { KIND_HEADER } from './rows.ts';
import { tableModelOf } from './table-model.ts';
import {
  cleanPatient,
  cleanPatientSchema,
  metaFields,
  type PatientValues,
} from './testing/clean-fixtures.ts';
import { testDatabase, type TestDatabase } from './testing/pg.ts';
import { createWriter, WRITE_MODES } from './writers.ts';

const model = tableModelOf('Patient', cleanPatientSchema());

describe.each(WRITE_MODES)('upsert semantics (%s)', (mode) => {
  let db: TestDatabase;
  let offset = 0;
  const writer = createWriter(mode);

  beforeAll(async () => {
    db = testDatabase();
    await migrate(db.pool, db.schema, [{ model, source: { subject: 'test-Patient-value' } }]);
  });
  afterAll(async () => {
    await db.close();
  });

  /** Loads records as one batch of partition 0 at the next offsets. */
  async function load(values: readonly PatientValues[], headers: Record<string, string> = {}) {
    const records: BatchRecord[] = values.map((v) => ({
      offset: String(offset++),
      value: cleanPatient(v),
      headers: v.deleted === true ? { ...headers, [KIND_HEADER]: 'DELETE' } : headers,
      schemaId: 1,
    }));
    return loadBatch(
      { pool: db.pool, schema: db.schema, groupId: 'g', model, writer },
      { topic: 't', partition: 0, records, rejected: [], lastOffset: String(offset - 1) },
    );
  }

  async function row(logicalId: string) {
    const res = await db.pool.query<{
      version_id: string | null;
      gender: string | null;
      deleted: boolean;
      tags: string[];
      weight_kg: number;
      active: boolean;
    }>(
      `SELECT version_id, gender, _deleted_at IS NOT NULL AS deleted, tags, weight_kg, active FROM "${db.schema}".patient WHERE logical_id = $1`,
      [logicalId],
    );
    return res.rows[0];
  }

  it('writes typed columns and the full record', async () => {
    await load([{ logicalId: 'p1', versionId: '1', gender: 'male' }]);
    expect(await row('p1')).toEqual({
      version_id: '1',
      gender: 'male',
      deleted: false,
      tags: ['a', 'b'],
      weight_kg: 71.5,
      active: true,
    });
    const rec = await db.pool.query<{ r: Record<string, unknown> }>(
      `SELECT _record AS r FROM "${db.schema}".patient WHERE logical_id = 'p1'`,
    );
    expect(rec.rows[0]?.r.deidPolicy).toBe('safe-harbor');
  });

  it('replaces an older version with a newer one, by versionId', async () => {
    await load([{ logicalId: 'p2', versionId: '2', gender: 'male' }]);
    const out = await load([{ logicalId: 'p2', versionId: '10', gender: 'female' }]);
    expect(out.upserted).toBe(1);
    expect((await row('p2'))?.gender).toBe('female');
  });

  it('ignores an older or equal version', async () => {
    await load([{ logicalId: 'p3', versionId: '5', gender: 'male' }]);
    const older = await load([{ logicalId: 'p3', versionId: '4', gender: 'female' }]);
    const equal = await load([{ logicalId: 'p3', versionId: '5', gender: 'other' }]);
    expect([older.ignored, equal.ignored]).toEqual([1, 1]);
    expect((await row('p3'))?.gender).toBe('male');
  });

  it('orders by lastUpdated before versionId', async () => {
    await load([{ logicalId: 'p4', versionId: '9', lastUpdated: '2024-01-01T00:00:00Z', gender: 'male' }]);
    await load([
      { logicalId: 'p4', versionId: '1', lastUpdated: '2024-02-01T00:00:00+01:00', gender: 'female' },
    ]);
    expect((await row('p4'))?.gender).toBe('female');
    await load([{ logicalId: 'p4', versionId: '99', lastUpdated: '2023-12-31T23:59:59Z', gender: 'other' }]);
    expect((await row('p4'))?.gender).toBe('female');
  });

  it('applies versions of one key inside one batch in order (newest wins whatever the order)', async () => {
    await load([
      { logicalId: 'p5', versionId: '1', gender: 'male' },
      { logicalId: 'p5', versionId: '3', gender: 'female' },
      { logicalId: 'p5', versionId: '2', gender: 'other' },
    ]);
    expect(await row('p5')).toMatchObject({ version_id: '3', gender: 'female' });
  });

  it('turns a delete into a tombstone that an older redelivery cannot resurrect, and a newer version can', async () => {
    await load([{ logicalId: 'p6', versionId: '2', gender: 'male' }]);
    const del = await load([{ logicalId: 'p6', versionId: null, deleted: true }]);
    expect(del.deleted).toBe(1);
    expect((await row('p6'))?.deleted).toBe(true);
    // The same version again (a redelivery from before the delete) stays deleted.
    await load([{ logicalId: 'p6', versionId: '2', gender: 'male' }]);
    expect((await row('p6'))?.deleted).toBe(true);
    await load([{ logicalId: 'p6', versionId: '3', gender: 'female' }]);
    expect(await row('p6')).toMatchObject({ deleted: false, gender: 'female' });
  });

  it('ignores a delete older than the row, and records a delete of an unknown key as a tombstone', async () => {
    await load([{ logicalId: 'p7', versionId: '5' }]);
    const stale = await load([{ logicalId: 'p7', versionId: '4', deleted: true }]);
    expect(stale.ignored).toBe(1);
    expect((await row('p7'))?.deleted).toBe(false);
    await load([{ logicalId: 'p8', versionId: '1', deleted: true }]);
    expect((await row('p8'))?.deleted).toBe(true);
  });

  it('keeps one row per source for the same logical id', async () => {
    await load([
      { logicalId: 'p9', sourceId: 'site-a', versionId: '1' },
      { logicalId: 'p9', sourceId: 'site-b', versionId: '1' },
    ]);
    expect(await db.count('patient', 'logical_id = $1', ['p9'])).toBe(2);
  });

  it('skips records below the stored position and writes the ledger once per job and record', async () => {
    const before = await db.count('loader_ledger');
    const out = await load([{ logicalId: 'p10', versionId: '1' }]);
    expect(out.fresh).toBe(1);
    // Replaying the same offsets (a redelivery after a crash) is skipped by position.
    offset -= 1;
    const again = await load([{ logicalId: 'p10', versionId: '1' }]);
    expect([again.fresh, again.skipped]).toEqual([0, 1]);
    expect(await db.count('loader_ledger')).toBe(before + 1);
  });
});

describe('both write strategies write the same values', () => {
  const schema = {
    type: 'record',
    name: 'Thing',
    fields: [
      ...metaFields(),
      { name: 'aString', type: ['null', 'string'], default: null },
      { name: 'anEnum', type: { type: 'enum', name: 'E', symbols: ['A', 'B'] } },
      { name: 'aBool', type: ['null', 'boolean'], default: null },
      { name: 'anInt', type: 'int' },
      { name: 'aLong', type: 'long' },
      { name: 'aFloat', type: 'float' },
      { name: 'aDouble', type: ['null', 'double'], default: null },
      { name: 'someBytes', type: 'bytes' },
      { name: 'anInstant', type: { type: 'long', logicalType: 'timestamp-millis' } },
      { name: 'aDate', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
      { name: 'codes', type: { type: 'array', items: 'string' }, default: [] },
      { name: 'numbers', type: { type: 'array', items: 'double' }, default: [] },
      {
        name: 'aRecord',
        type: ['null', { type: 'record', name: 'R', fields: [{ name: 'x', type: 'int' }] }],
        default: null,
      },
      { name: 'aChoice', type: ['null', 'string', 'int'], default: null },
    ],
  };
  const model = tableModelOf('Thing', schema);
  const values = [
    {
      aString: 'tab\there, quote " and backslash \\ and NUL \u0000 end',
      anEnum: 'B',
      aBool: false,
      anInt: -7,
      aLong: 9_007_199_254_740_991,
      aFloat: 1.5,
      aDouble: 0.1,
      someBytes: Buffer.from([0, 1, 254, 255]),
      anInstant: 1_700_000_000_123,
      aDate: 19_000,
      codes: ['a', 'b,c', '{x}', ''],
      numbers: [1.25, -3],
      aRecord: { x: 1 },
      aChoice: { int: 4 },
    },
    {
      aString: null,
      anEnum: 'A',
      aBool: null,
      anInt: 0,
      aLong: 0,
      aFloat: 0,
      aDouble: null,
      someBytes: Buffer.alloc(0),
      anInstant: 0,
      aDate: null,
      codes: [],
      numbers: [],
      aRecord: null,
      aChoice: null,
    },
  ];
  let db: TestDatabase;
  beforeAll(() => {
    db = testDatabase();
  });
  afterAll(async () => {
    await db.close();
  });

  it('extracts typed columns from the staged jsonb exactly as the multi-row writer binds them', async () => {
    const written: unknown[] = [];
    for (const mode of WRITE_MODES) {
      const schemaName = `${db.schema}_${mode}`;
      await migrate(db.pool, schemaName, [{ model, source: { subject: 'x' } }]);
      try {
        const records: BatchRecord[] = values.map((v, i) => ({
          offset: String(i),
          value: {
            recordId: `r${i}`,
            jobId: 'j',
            sourceId: 's',
            logicalId: `l${i}`,
            versionId: '1',
            lastUpdated: null,
            ...v,
          },
          headers: {},
          schemaId: 1,
        }));
        await loadBatch(
          { pool: db.pool, schema: schemaName, groupId: 'g', model, writer: createWriter(mode) },
          { topic: 't', partition: 0, records, rejected: [], lastOffset: '1' },
        );
        const cols = model.columns.map((c) => `"${c.column}"`).join(', ');
        const res = await db.pool.query(
          `SELECT ${cols}, _record FROM "${schemaName}".thing ORDER BY logical_id`,
        );
        written.push(res.rows);
      } finally {
        await db.pool.query(`DROP SCHEMA "${schemaName}" CASCADE`);
      }
    }
    expect(written[0]).toEqual(written[1]);
    const [first] = written[0] as Record<string, unknown>[];
    expect(first).toMatchObject({
      a_string: 'tab\there, quote " and backslash \\ and NUL \uFFFD end',
      some_bytes: Buffer.from([0, 1, 254, 255]),
      an_instant: new Date(1_700_000_000_123),
      codes: ['a', 'b,c', '{x}', ''],
      numbers: [1.25, -3],
      a_record: { x: 1 },
      a_choice: { int: 4 },
      a_long: '9007199254740991',
    });
  });
});
