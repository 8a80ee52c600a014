import { describe, expect, it } from 'vitest';
import { LOADER_COLUMN_DDL } from './ddl.ts';
import { incompatible, planMigration, writerSchemaChanges, type ExistingColumn } from './migrate.ts';
import { tableModelOf } from './table-model.ts';
import { cleanPatientSchema } from './testing/clean-fixtures.ts';

const v1 = tableModelOf('Patient', cleanPatientSchema());
const loaderColumns: ExistingColumn[] = LOADER_COLUMN_DDL.map(([column]) => ({ column, sqlType: 'x' }));
const existing = (model = v1): ExistingColumn[] => [
  ...model.columns.map((c) => ({
    column: c.column,
    sqlType: c.sqlType,
    field: c.field,
    required: c.required,
    avroType: c.avroType,
  })),
  ...loaderColumns,
];

describe('planMigration', () => {
  it('creates a missing table', () => {
    expect(planMigration(v1, undefined)).toMatchObject({ create: true, addColumns: [], problems: [] });
  });

  it('changes nothing when the table matches', () => {
    expect(planMigration(v1, existing())).toMatchObject({
      create: false,
      addColumns: [],
      retiredColumns: [],
      problems: [],
    });
  });

  it('adds a column for a new optional field', () => {
    const v2 = tableModelOf(
      'Patient',
      cleanPatientSchema([{ name: 'ethnicityCode', type: ['null', 'string'], default: null }]),
    );
    const plan = planMigration(v2, existing());
    expect(plan.addColumns.map((c) => [c.column, c.sqlType])).toEqual([['ethnicity_code', 'text']]);
    expect(plan.problems).toEqual([]);
  });

  it('refuses a new required field, a type change and a removed required field, naming each', () => {
    const schema = cleanPatientSchema([{ name: 'mustHave', type: 'string' }]) as {
      fields: { name: string; type: unknown }[];
    };
    schema.fields = schema.fields.filter((f) => f.name !== 'birthDate');
    const gender = schema.fields.find((f) => f.name === 'gender');
    if (gender) gender.type = ['null', 'int'];
    const plan = planMigration(tableModelOf('Patient', schema), existing());
    expect(plan.problems.map((p) => [p.column, p.change])).toEqual([
      ['gender', 'type_changed'],
      ['must_have', 'required_added'],
      ['birth_date', 'required_removed'],
    ]);
    expect(incompatible('clean', plan.problems).message).toContain(
      'table clean.patient, column gender (field gender): type changed text → integer (Avro null | string → null | int)',
    );
  });

  it('keeps the column of a removed optional field', () => {
    const schema = cleanPatientSchema() as { fields: { name: string }[] };
    schema.fields = schema.fields.filter((f) => f.name !== 'gender');
    const plan = planMigration(tableModelOf('Patient', schema), existing());
    expect(plan).toMatchObject({ retiredColumns: ['gender'], problems: [] });
  });

  it('reports loader columns missing from a table it did not create', () => {
    const plan = planMigration(
      v1,
      existing().filter((c) => c.column !== '_record'),
    );
    expect(plan.problems).toEqual([
      expect.objectContaining({ column: '_record', change: 'loader_column_missing' }),
    ]);
  });
});

describe('writerSchemaChanges', () => {
  it('accepts an older writer without a newer field, and adds a field of a newer writer', () => {
    const v2 = tableModelOf(
      'Patient',
      cleanPatientSchema([{ name: 'extra', type: ['null', 'long'], default: null }]),
    );
    expect(writerSchemaChanges(v2, v1)).toEqual({ added: [], problems: [] });
    expect(writerSchemaChanges(v1, v2).added.map((c) => c.column)).toEqual(['extra']);
  });
});
