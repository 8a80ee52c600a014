import { isPipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { snakeCase, tableNameOf } from './names.ts';
import { RESOURCE_TYPES } from './resource-types.ts';
import { tableModelOf } from './table-model.ts';
import { cleanPatientSchema, cleanSchemaFromContract, metaFields } from './testing/clean-fixtures.ts';

const schemaWith = (...fields: Record<string, unknown>[]) => ({
  type: 'record',
  name: 'Thing',
  fields: [...metaFields(), ...fields],
});

function refusal(fn: () => unknown): string {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    return isPipelineError(err) ? `${err.code}: ${err.message}` : String(err);
  }
}

describe('names', () => {
  it('snake-cases fields and resource types', () => {
    expect(snakeCase('valueQuantityValue')).toBe('value_quantity_value');
    expect(snakeCase('patientRefURL')).toBe('patient_ref_url');
    expect(snakeCase('HTTPStatusCode')).toBe('http_status_code');
    expect(tableNameOf('MedicationRequest')).toBe('medication_request');
    expect(tableNameOf('AllergyIntolerance')).toBe('allergy_intolerance');
  });
});

describe('tableModelOf', () => {
  it('maps Avro types to SQL types', () => {
    const model = tableModelOf(
      'Thing',
      schemaWith(
        { name: 'aString', type: 'string' },
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
        { name: 'maybeCodes', type: { type: 'array', items: ['null', 'string'] }, default: [] },
        { name: 'aRecord', type: { type: 'record', name: 'R', fields: [{ name: 'x', type: 'int' }] } },
        { name: 'aMap', type: { type: 'map', values: 'string' } },
        { name: 'aChoice', type: ['null', 'string', 'int'], default: null },
      ),
    );
    const types = Object.fromEntries(model.columns.map((c) => [c.column, c.sqlType]));
    expect(types).toMatchObject({
      a_string: 'text',
      an_enum: 'text',
      a_bool: 'boolean',
      an_int: 'integer',
      a_long: 'bigint',
      a_float: 'real',
      a_double: 'double precision',
      some_bytes: 'bytea',
      an_instant: 'timestamp with time zone',
      a_date: 'date',
      codes: 'text[]',
      numbers: 'double precision[]',
      maybe_codes: 'jsonb',
      a_record: 'jsonb',
      a_map: 'jsonb',
      a_choice: 'jsonb',
    });
  });

  it('marks fields required by the contract', () => {
    const model = tableModelOf('Patient', cleanPatientSchema());
    const required = model.columns.filter((c) => c.required).map((c) => c.field);
    expect(required).toEqual(
      expect.arrayContaining(['recordId', 'logicalId', 'birthDate', 'contractVersion']),
    );
    expect(required).not.toContain('gender');
    expect(model).toMatchObject({ table: 'patient', hasVersionId: true, hasLastUpdated: true });
  });

  it('gives an array-of-records column a child view with one typed column per record field', () => {
    const model = tableModelOf('Observation', cleanSchemaFromContract('Observation'));
    expect(model.columns.find((c) => c.field === 'components')?.sqlType).toBe('jsonb');
    expect(model.columns.find((c) => c.field === 'bpSystolicValue')?.sqlType).toBe('double precision');
    expect(model.childViews.map((v) => [v.column, v.view])).toEqual([
      ['components', 'observation__components'],
    ]);
    const columns = model.childViews[0]?.columns.map((c) => [c.field, c.column, c.sqlType]);
    expect(columns).toContainEqual(['valueQuantityValue', 'value_quantity_value', 'double precision']);
    expect(columns).toContainEqual(['interpretationCodes', 'interpretation_codes', 'text[]']);
    expect(columns).toContainEqual(['valueInteger', 'value_integer', 'integer']);
    expect(tableModelOf('Patient', cleanSchemaFromContract('Patient')).childViews).toEqual([]);
  });

  it('builds a table for every clean contract shape', () => {
    for (const type of RESOURCE_TYPES) {
      const model = tableModelOf(type, cleanSchemaFromContract(type));
      expect(model.columns.length).toBeGreaterThan(8);
      expect(model.columns.every((c) => /^[a-z_][a-z0-9_]*$/.test(c.column))).toBe(true);
    }
  });

  it('refuses a schema without the fields the loader keys and counts on', () => {
    const noLogicalId = {
      type: 'record',
      name: 'X',
      fields: metaFields().filter((f) => f.name !== 'logicalId'),
    };
    expect(refusal(() => tableModelOf('X', noLogicalId))).toBe(
      'TABLE_INCOMPATIBLE: clean schema of X: the loader needs a string field logicalId (found none)',
    );
  });

  it('refuses field names that cannot become distinct columns', () => {
    expect(refusal(() => tableModelOf('X', schemaWith({ name: '_record', type: 'string' })))).toMatch(
      /field _record starts with "_"/,
    );
    expect(
      refusal(() =>
        tableModelOf(
          'X',
          schemaWith({ name: 'fooBar', type: 'string' }, { name: 'foo_bar', type: 'string' }),
        ),
      ),
    ).toMatch(/fields fooBar and foo_bar both map to column foo_bar/);
    expect(
      refusal(() => tableModelOf('X', schemaWith({ name: `f${'x'.repeat(70)}`, type: 'string' }))),
    ).toMatch(/not a usable PostgreSQL identifier/);
  });
});
