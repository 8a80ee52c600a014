import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from './migrate.ts';
import { ident } from './names.ts';
import { tableModelOf } from './table-model.ts';
import { cleanSchemaFromContract } from './testing/clean-fixtures.ts';
import { testDatabase } from './testing/pg.ts';

describe('child views of array-of-records columns (real PostgreSQL)', () => {
  const db = testDatabase();
  afterAll(() => db.close());
  const model = tableModelOf('Observation', cleanSchemaFromContract('Observation'));
  const target = { model, source: { subject: 'test-observation-value' } };

  it('unnests Observation components into typed rows that follow the parent row', async () => {
    await migrate(db.pool, db.schema, [target]);
    const components = [
      {
        code: '8480-6',
        codeSystem: 'http://loinc.org',
        valueType: 'Quantity',
        valueQuantityValue: 142.5,
        valueQuantityUnit: 'mmHg',
        valueQuantityCode: 'mm[Hg]',
        valueCodeableConceptCode: null,
        valueInteger: null,
        valueBoolean: null,
        dataAbsentReasonCode: null,
        interpretationCodes: ['H'],
      },
      {
        code: '8462-4',
        codeSystem: 'http://loinc.org',
        valueType: 'Quantity',
        valueQuantityValue: 88,
        valueQuantityUnit: 'mmHg',
        valueQuantityCode: 'mm[Hg]',
        valueCodeableConceptCode: null,
        valueInteger: null,
        valueBoolean: null,
        dataAbsentReasonCode: null,
        interpretationCodes: [],
      },
    ];
    const table = `${ident(db.schema)}.${ident(model.table)}`;
    await db.pool.query(
      `INSERT INTO ${table} (record_id, job_id, source_id, logical_id, components, _record) VALUES
       ('r1', 'j1', 'site-a', 'obs-1', $1::jsonb, '{}'::jsonb), ('r2', 'j1', 'site-a', 'obs-2', '[]'::jsonb, '{}'::jsonb)`,
      [JSON.stringify(components)],
    );
    const view = `${ident(db.schema)}.${ident('observation__components')}`;
    const rows = await db.pool.query(
      `SELECT logical_id, _position, code, value_quantity_value, value_quantity_code, interpretation_codes, value_integer, _deleted_at FROM ${view} ORDER BY logical_id, _position`,
    );
    expect(rows.rows).toEqual([
      {
        logical_id: 'obs-1',
        _position: 0,
        code: '8480-6',
        value_quantity_value: 142.5,
        value_quantity_code: 'mm[Hg]',
        interpretation_codes: ['H'],
        value_integer: null,
        _deleted_at: null,
      },
      {
        logical_id: 'obs-1',
        _position: 1,
        code: '8462-4',
        value_quantity_value: 88,
        value_quantity_code: 'mm[Hg]',
        interpretation_codes: [],
        value_integer: null,
        _deleted_at: null,
      },
    ]);
    const types = await db.pool.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'observation__components' AND column_name IN ('value_quantity_value', 'interpretation_codes', 'value_boolean')`,
      [db.schema],
    );
    expect(Object.fromEntries(types.rows.map((r) => [r.column_name, r.data_type]))).toEqual({
      value_quantity_value: 'double precision',
      interpretation_codes: 'ARRAY',
      value_boolean: 'boolean',
    });
    // A deleted parent marks its components; migrating again (a restart) keeps the view working.
    await db.pool.query(`UPDATE ${table} SET _deleted_at = now() WHERE logical_id = 'obs-1'`);
    await migrate(db.pool, db.schema, [target]);
    const deleted = await db.pool.query(
      `SELECT count(*)::int AS n FROM ${view} WHERE _deleted_at IS NOT NULL`,
    );
    expect(deleted.rows[0]).toEqual({ n: 2 });
  });
});
