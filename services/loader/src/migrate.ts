import { PipelineError } from '@ehrflow/errors';
import type { Pool, PoolClient } from 'pg';
import {
  addColumnDdl,
  childViewDdl,
  createTableDdl,
  INFRA_TABLES,
  infrastructureDdl,
  LOADER_COLUMN_DDL,
} from './ddl.ts';
import { qualified } from './names.ts';
import { inTransaction, withClient } from '@ehrflow/service/database';
import type { ColumnModel, TableModel } from './table-model.ts';

/** A column as the database has it, with what the loader recorded about it. */
export interface ExistingColumn {
  readonly column: string;
  readonly sqlType: string;
  /** From `loader_columns`; undefined for a column the loader did not create (a loader column, or manual). */
  readonly field?: string;
  readonly required?: boolean;
  readonly avroType?: string;
}

/** One reason a schema cannot be applied to its table. */
export interface Incompatibility {
  readonly table: string;
  readonly column: string;
  readonly field: string;
  readonly change: 'type_changed' | 'required_removed' | 'required_added' | 'loader_column_missing';
  /** Human-readable: `text → integer (Avro string → int)`. */
  readonly detail: string;
}

/** What it takes to bring one table in line with its schema. */
export interface MigrationPlan {
  readonly table: string;
  readonly create: boolean;
  readonly addColumns: readonly ColumnModel[];
  /** Optional fields the schema no longer has: the column stays and fills with nulls. */
  readonly retiredColumns: readonly string[];
  readonly problems: readonly Incompatibility[];
}

/**
 * Compares a table model with the table as it exists. Pure. A new optional field becomes a new
 * column; a type change, a removed required field or a new required field (existing rows have
 * no value for it) is a problem; a removed optional field keeps its column.
 */
export function planMigration(
  model: TableModel,
  existing: readonly ExistingColumn[] | undefined,
): MigrationPlan {
  if (existing === undefined) {
    return { table: model.table, create: true, addColumns: [], retiredColumns: [], problems: [] };
  }
  const byName = new Map(existing.map((c) => [c.column, c]));
  const problems: Incompatibility[] = [];
  const addColumns: ColumnModel[] = [];
  for (const col of model.columns) {
    const have = byName.get(col.column);
    if (have === undefined) {
      if (col.required) {
        problems.push({
          table: model.table,
          column: col.column,
          field: col.field,
          change: 'required_added',
          detail: `new required field (${col.avroType}) has no value in the rows already loaded; make it optional or give it a default`,
        });
      } else {
        addColumns.push(col);
      }
    } else if (have.sqlType !== col.sqlType) {
      const avro = have.avroType === undefined ? '' : ` (Avro ${have.avroType} → ${col.avroType})`;
      problems.push({
        table: model.table,
        column: col.column,
        field: col.field,
        change: 'type_changed',
        detail: `type changed ${have.sqlType} → ${col.sqlType}${avro}`,
      });
    }
  }
  const modelColumns = new Set(model.columns.map((c) => c.column));
  const retiredColumns: string[] = [];
  for (const have of existing) {
    if (have.field === undefined || modelColumns.has(have.column)) continue;
    if (have.required === true) {
      problems.push({
        table: model.table,
        column: have.column,
        field: have.field,
        change: 'required_removed',
        detail: `required field removed from the schema (was ${have.avroType ?? have.sqlType})`,
      });
    } else {
      retiredColumns.push(have.column);
    }
  }
  for (const [name] of LOADER_COLUMN_DDL) {
    if (!byName.has(name)) {
      problems.push({
        table: model.table,
        column: name,
        field: '-',
        change: 'loader_column_missing',
        detail: 'loader column missing',
      });
    }
  }
  return { table: model.table, create: false, addColumns, retiredColumns, problems };
}

/**
 * Compares the model a table was built from with the model of a writer schema met at run time
 * (a version registered after start, or an older one). Pure. Fields only the writer has are new
 * columns (when optional); a field both have with a different SQL type, or a new required field,
 * is a problem. Fields the writer lacks are fine: an older writer leaves them null.
 */
export function writerSchemaChanges(
  current: TableModel,
  writer: TableModel,
): { added: ColumnModel[]; problems: Incompatibility[] } {
  const existing: ExistingColumn[] = [
    ...current.columns.map((c) => ({ column: c.column, sqlType: c.sqlType, avroType: c.avroType })),
    ...LOADER_COLUMN_DDL.map(([column]) => ({ column, sqlType: '' })),
  ];
  const plan = planMigration(writer, existing);
  return { added: [...plan.addColumns], problems: [...plan.problems] };
}

/** Where a table model came from, recorded with every migration. */
export interface SchemaSource {
  readonly subject: string;
  readonly version?: number;
  readonly id?: number;
}

export interface MigrationTarget {
  readonly model: TableModel;
  readonly source: SchemaSource;
}

/** What `migrate` did. */
export interface MigrationReport {
  readonly created: readonly string[];
  readonly added: readonly { readonly table: string; readonly column: string }[];
  readonly retired: readonly { readonly table: string; readonly column: string }[];
}

/**
 * Creates the loader's schema and tables if needed, then brings each resource table in line with
 * its schema, in one transaction under an advisory lock (replicas starting together migrate
 * once). Every statement is recorded in `loader_migrations`.
 *
 * @throws PipelineError TABLE_INCOMPATIBLE naming every table, column and change that cannot be
 *   applied; nothing is changed then.
 */
export async function migrate(
  pool: Pool,
  schema: string,
  targets: readonly MigrationTarget[],
): Promise<MigrationReport> {
  return inTransaction(
    () => pool.connect(),
    'migration',
    async (client) => {
      await query(client, 'SELECT pg_advisory_xact_lock(hashtext($1))', [`ehrflow-loader:${schema}`]);
      for (const statement of infrastructureDdl(schema)) await query(client, statement);
      const plans: { plan: MigrationPlan; target: MigrationTarget }[] = [];
      for (const target of targets) {
        const existing = await readTable(client, schema, target.model.table);
        plans.push({ plan: planMigration(target.model, existing), target });
      }
      const problems = plans.flatMap((p) => p.plan.problems);
      if (problems.length > 0) throw incompatible(schema, problems);
      const report = {
        created: [] as string[],
        added: [] as { table: string; column: string }[],
        retired: [] as { table: string; column: string }[],
      };
      for (const { plan, target } of plans) {
        const record = (action: string, statement: string, column: string | null) =>
          query(
            client,
            `INSERT INTO ${qualified(schema, INFRA_TABLES.migrations)} (table_name, action, column_name, subject, schema_version, schema_id, statement)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
            [
              plan.table,
              action,
              column,
              target.source.subject,
              target.source.version ?? null,
              target.source.id ?? null,
              statement,
            ],
          );
        if (plan.create) {
          const ddl = createTableDdl(schema, target.model);
          await query(client, ddl);
          await record('create_table', ddl, null);
          report.created.push(plan.table);
        }
        for (const col of plan.addColumns) {
          const ddl = addColumnDdl(schema, plan.table, col);
          await query(client, ddl);
          await record('add_column', ddl, col.column);
          report.added.push({ table: plan.table, column: col.column });
        }
        for (const column of plan.retiredColumns) report.retired.push({ table: plan.table, column });
        // Views hold no data and follow the schema: made again at every start, not recorded.
        for (const view of target.model.childViews)
          for (const statement of childViewDdl(schema, target.model, view)) await query(client, statement);
        await recordColumns(client, schema, target.model);
      }
      return report;
    },
  );
}

/**
 * Checks a table model against the database without changing anything (a writer schema seen at
 * run time). Returns the plan; the caller migrates when it only adds columns.
 */
export async function checkTable(pool: Pool, schema: string, model: TableModel): Promise<MigrationPlan> {
  return withClient(
    () => pool.connect(),
    'table check',
    async (client) => planMigration(model, await readTable(client, schema, model.table)),
  );
}

/** The `TABLE_INCOMPATIBLE` error for a list of problems: one line per table, column and change. */
export function incompatible(schema: string, problems: readonly Incompatibility[]): PipelineError {
  const lines = problems.map(
    (p) => `table ${schema}.${p.table}, column ${p.column} (field ${p.field}): ${p.detail}`,
  );
  const first = problems[0];
  return new PipelineError(
    'TABLE_INCOMPATIBLE',
    `the registered clean schema cannot be applied to the warehouse; the loader will not start:\n  ${lines.join('\n  ')}`,
    {
      context: {
        schema,
        table: first?.table,
        column: first?.column,
        change: first?.change,
        problems: problems.length,
      },
    },
  );
}

async function readTable(
  client: PoolClient,
  schema: string,
  table: string,
): Promise<ExistingColumn[] | undefined> {
  const cols = await client.query<{ column: string; sql_type: string }>(
    `SELECT a.attname AS column, format_type(a.atttypid, a.atttypmod) AS sql_type
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, table],
  );
  if (cols.rowCount === 0) return undefined;
  const recorded = await client.query<{
    column_name: string;
    field_name: string;
    required: boolean;
    avro_type: string;
  }>(
    `SELECT column_name, field_name, required, avro_type FROM ${qualified(schema, INFRA_TABLES.columns)} WHERE table_name = $1`,
    [table],
  );
  const meta = new Map(recorded.rows.map((r) => [r.column_name, r]));
  return cols.rows.map((c) => {
    const m = meta.get(c.column);
    return m === undefined
      ? { column: c.column, sqlType: c.sql_type }
      : {
          column: c.column,
          sqlType: c.sql_type,
          field: m.field_name,
          required: m.required,
          avroType: m.avro_type,
        };
  });
}

/** Upserts what the loader knows about each column of the current schema. */
async function recordColumns(client: PoolClient, schema: string, model: TableModel): Promise<void> {
  for (const col of model.columns) {
    await query(
      client,
      `INSERT INTO ${qualified(schema, INFRA_TABLES.columns)} (table_name, column_name, field_name, sql_type, avro_type, required)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (table_name, column_name) DO UPDATE
         SET field_name = EXCLUDED.field_name, sql_type = EXCLUDED.sql_type, avro_type = EXCLUDED.avro_type, required = EXCLUDED.required`,
      [model.table, col.column, col.field, col.sqlType, col.avroType, col.required],
    );
  }
}

async function query(client: PoolClient, text: string, values?: unknown[]): Promise<void> {
  await client.query(text, values);
}
