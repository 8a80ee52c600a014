import { describe, expect, it } from 'vitest';
import { columnValue, columnValues, isDeleteRecord, KIND_HEADER, recordJson, toRows } from './rows.ts';
import { tableModelOf, type ColumnModel } from './table-model.ts';
import { cleanPatient, cleanPatientSchema } from './testing/clean-fixtures.ts';

const model = tableModelOf('Patient', cleanPatientSchema());
const col = (kind: ColumnModel['kind'], array = false): ColumnModel => ({
  field: 'f',
  column: 'f',
  kind,
  array,
  sqlType: '',
  avroType: '',
  required: false,
});

describe('toRows', () => {
  it('keys, orders and numbers rounds per key in input order', () => {
    const rows = toRows(
      [
        cleanPatient({ logicalId: 'a', versionId: '7', lastUpdated: '2024-03-01T10:00:00+02:00' }),
        cleanPatient({ logicalId: 'b', versionId: 'v-x' }),
        cleanPatient({ logicalId: 'a', versionId: '8' }),
      ].map((value) => ({ value, headers: {}, schemaId: 3 })),
    );
    expect(rows.map((r) => [r.logicalId, r.round, r.orderTs, r.orderVersion, r.orderVersionText])).toEqual([
      ['a', 1, '2024-03-01T08:00:00.000Z', '7', '7'],
      ['b', 1, null, null, 'v-x'],
      ['a', 2, null, '8', '8'],
    ]);
    expect(rows[0] && columnValues(model, rows[0]).length).toBe(model.columns.length);
    expect(rows[0]?.schemaId).toBe(3);
  });

  it('leaves fields an older writer schema lacks as null', () => {
    const value = cleanPatient({ logicalId: 'a' });
    delete value.weightKg;
    const [row] = toRows([{ value, headers: {}, schemaId: 1 }]);
    const i = model.columns.findIndex((c) => c.field === 'weightKg');
    expect(row && columnValues(model, row)[i]).toBeNull();
  });
});

describe('isDeleteRecord', () => {
  it('recognises the header, a deleted flag and a DELETE kind', () => {
    expect(isDeleteRecord({}, { [KIND_HEADER]: 'DELETE' })).toBe(true);
    expect(isDeleteRecord({ deleted: true }, {})).toBe(true);
    expect(isDeleteRecord({ kind: 'delete' }, {})).toBe(true);
    expect(isDeleteRecord({ kind: 'UPSERT', deleted: false }, { [KIND_HEADER]: 'UPSERT' })).toBe(false);
  });
});

describe('columnValue', () => {
  it('converts decoded Avro values for PostgreSQL', () => {
    expect(columnValue(col('timestamptz'), 0)).toBe('1970-01-01T00:00:00.000Z');
    expect(columnValue(col('date'), 19_000)).toBe('2022-01-08');
    expect(columnValue(col('jsonb'), { a: [1] })).toBe('{"a":[1]}');
    expect(columnValue(col('text', true), ['x', 'y'])).toEqual(['x', 'y']);
    expect(columnValue(col('text'), 'a\u0000b')).toBe('a\uFFFDb');
    expect(columnValue(col('integer'), undefined)).toBeNull();
  });

  it('writes bytes as base64 and no NUL into jsonb', () => {
    expect(recordJson({ b: Buffer.from([1, 2]), s: 'x\u0000' })).toBe('{"b":"AQI=","s":"x\uFFFD"}');
  });
});
