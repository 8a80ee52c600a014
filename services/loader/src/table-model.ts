import { contractOf, describeType, parseAvro, type AvroType } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import { checkIdentifier, snakeCase, tableNameOf } from './names.ts';

/** How a column's values are written; the SQL type is derived from it. */
export type ColumnKind =
  'text' | 'boolean' | 'integer' | 'bigint' | 'real' | 'double' | 'bytea' | 'timestamptz' | 'date' | 'jsonb';

/** One typed column for one top-level field of the clean schema. */
export interface ColumnModel {
  /** Avro field name. */
  readonly field: string;
  /** Column name (snake case of the field name). */
  readonly column: string;
  readonly kind: ColumnKind;
  /** An SQL array of `kind` (an Avro array of a scalar type). */
  readonly array: boolean;
  /** The SQL type as PostgreSQL's `format_type` prints it, e.g. `text[]`, `double precision`. */
  readonly sqlType: string;
  /** Readable Avro type, for messages: `string`, `null | double`, `array<string>`. */
  readonly avroType: string;
  /** The contract says the field is required (no null, no default, or `"required": true`). */
  readonly required: boolean;
}

/** One column of a child view: a field of the records an array-of-records column holds. */
export interface ChildColumnModel {
  /** Avro field name inside the record (the key in the jsonb items). */
  readonly field: string;
  readonly column: string;
  readonly kind: ColumnKind;
  readonly array: boolean;
  readonly sqlType: string;
}

/**
 * A view with one row per item of an array-of-records column (`observation.components` →
 * `observation__components`): the parent's key, the item's position and one typed column per
 * field of the record. A view over the parent row, so it is always consistent with it and needs no
 * loading or reconciliation of its own.
 */
export interface ChildViewModel {
  /** The parent column (jsonb) it unnests. */
  readonly column: string;
  readonly view: string;
  readonly columns: readonly ChildColumnModel[];
}

/** Columns of a child view that are not fields of the record. */
export const CHILD_VIEW_COLUMNS = { position: '_position', deletedAt: '_deleted_at' } as const;

/** The warehouse table of one resource type, derived from its registered clean schema. */
export interface TableModel {
  readonly resourceType: string;
  readonly table: string;
  /** Contract columns in schema order. */
  readonly columns: readonly ColumnModel[];
  /** One view per array-of-records column. */
  readonly childViews: readonly ChildViewModel[];
  /** Whether the schema has `versionId` / `lastUpdated` (the version order uses them when present). */
  readonly hasVersionId: boolean;
  readonly hasLastUpdated: boolean;
}

/** Fields every clean record must carry for the loader to key, order and account for it. */
export const REQUIRED_META_FIELDS = ['recordId', 'jobId', 'sourceId', 'logicalId'] as const;

/**
 * Columns the loader owns, next to the contract's. The leading `_` keeps them apart from contract
 * columns (a field name starting with `_` is refused).
 */
export const LOADER_COLUMNS = {
  record: '_record',
  deletedAt: CHILD_VIEW_COLUMNS.deletedAt,
  loadedAt: '_loaded_at',
  orderTs: '_order_ts',
  orderVersion: '_order_version',
  orderVersionText: '_order_version_text',
  schemaId: '_schema_id',
} as const;

const SQL_TYPE: Record<ColumnKind, string> = {
  text: 'text',
  boolean: 'boolean',
  integer: 'integer',
  bigint: 'bigint',
  real: 'real',
  double: 'double precision',
  bytea: 'bytea',
  timestamptz: 'timestamp with time zone',
  date: 'date',
  jsonb: 'jsonb',
};

/** Avro types that become an SQL array of a scalar; anything else inside an array is jsonb. */
const ARRAY_ITEM_KINDS: ReadonlySet<ColumnKind> = new Set([
  'text',
  'boolean',
  'integer',
  'bigint',
  'real',
  'double',
]);

/**
 * Derives the table of a resource type from its clean schema: one typed column per top-level
 * field. Avro → SQL: string and enum → text, boolean → boolean, int → integer, long → bigint,
 * float → real, double → double precision, bytes and fixed → bytea, `long` with logical type
 * `timestamp-millis` → timestamptz, `int` with logical type `date` → date, an array of one of
 * those scalars → an SQL array of it; records, maps, multi-type unions and arrays of anything else
 * → jsonb. A union with `null` is the nullable form of its other branch.
 *
 * @throws PipelineError TABLE_INCOMPATIBLE when the schema cannot become a table (not a record,
 *   a loader field missing, a field name that is no usable column name).
 */
export function tableModelOf(
  resourceType: string,
  schema: unknown,
  label = `clean schema of ${resourceType}`,
): TableModel {
  const json = typeof schema === 'string' ? (JSON.parse(schema) as unknown) : schema;
  const contract = contractOf(json, label);
  const type = parseAvro(json, label) as AvroType & { fields?: readonly AvroField[] };
  const fieldsJson = fieldJsonByName(json);
  const required = new Map(contract.fields.filter((f) => f.path === f.name).map((f) => [f.name, f.required]));
  const columns: ColumnModel[] = [];
  const childViews: ChildViewModel[] = [];
  const seen = new Map<string, string>();
  for (const field of type.fields ?? []) {
    if (field.name.startsWith('_')) {
      throw new PipelineError(
        'TABLE_INCOMPATIBLE',
        `${label}: field ${field.name} starts with "_", which is reserved for loader columns`,
        {
          context: { resourceType, field: field.name },
        },
      );
    }
    const column = checkIdentifier(snakeCase(field.name), `${label}: column of field ${field.name}`);
    const clash = seen.get(column);
    if (clash !== undefined) {
      throw new PipelineError(
        'TABLE_INCOMPATIBLE',
        `${label}: fields ${clash} and ${field.name} both map to column ${column}`,
        {
          context: { resourceType, field: field.name, column },
        },
      );
    }
    seen.set(column, field.name);
    const child = childViewOf(resourceType, column, field.type, fieldsJson.get(field.name), label);
    if (child !== undefined) childViews.push(child);
    const { kind, array } = kindOf(field.type, fieldsJson.get(field.name));
    columns.push({
      field: field.name,
      column,
      kind,
      array,
      sqlType: `${SQL_TYPE[kind]}${array ? '[]' : ''}`,
      avroType: describeType(field.type),
      required: required.get(field.name) ?? false,
    });
  }
  for (const meta of REQUIRED_META_FIELDS) {
    const col = columns.find((c) => c.field === meta);
    if (col === undefined || col.kind !== 'text' || col.array) {
      throw new PipelineError(
        'TABLE_INCOMPATIBLE',
        `${label}: the loader needs a string field ${meta} (found ${col === undefined ? 'none' : col.avroType})`,
        { context: { resourceType, field: meta } },
      );
    }
  }
  return {
    resourceType,
    table: tableNameOf(resourceType),
    columns,
    childViews: childViews.map((v) => ({ ...v, view: `${tableNameOf(resourceType)}__${v.column}` })),
    hasVersionId: columns.some((c) => c.field === 'versionId'),
    hasLastUpdated: columns.some((c) => c.field === 'lastUpdated'),
  };
}

interface AvroField {
  readonly name: string;
  readonly type: AvroType;
}

/** The child view of a field whose type is an array of (non-null) records, else undefined. */
function childViewOf(
  resourceType: string,
  column: string,
  type: AvroType,
  fieldJson: unknown,
  label: string,
): ChildViewModel | undefined {
  if (type.typeName !== 'array') return undefined;
  const items = (type as unknown as { itemsType: AvroType }).itemsType;
  if (items.typeName !== 'record') return undefined;
  const itemFields = (items as unknown as { fields: readonly AvroField[] }).fields;
  const itemJson = ((fieldJson as { type?: { items?: unknown } } | undefined)?.type?.items ?? {}) as unknown;
  const jsonByName = fieldJsonByName(itemJson);
  const reserved = new Set<string>(Object.values(CHILD_VIEW_COLUMNS));
  const columns = itemFields.map((f): ChildColumnModel => {
    const name = checkIdentifier(snakeCase(f.name), `${label}: view column of ${column}.${f.name}`);
    if (reserved.has(name)) {
      throw new PipelineError(
        'TABLE_INCOMPATIBLE',
        `${label}: ${column}.${f.name} clashes with a view column`,
        {
          context: { resourceType, field: f.name },
        },
      );
    }
    const { kind, array } = kindOf(f.type, jsonByName.get(f.name));
    // Items are JSON in the parent row: timestamps and bytes stay JSON rather than being re-encoded.
    const usable = kind === 'timestamptz' || kind === 'date' || kind === 'bytea' ? 'jsonb' : kind;
    const isArray = usable === 'jsonb' ? false : array;
    return {
      field: f.name,
      column: name,
      kind: usable,
      array: isArray,
      sqlType: `${SQL_TYPE[usable]}${isArray ? '[]' : ''}`,
    };
  });
  return { column, view: '', columns };
}

function kindOf(type: AvroType, fieldJson: unknown): { kind: ColumnKind; array: boolean } {
  const branches = nonNull(type);
  if (branches.length !== 1) return { kind: 'jsonb', array: false };
  const t = branches[0] as AvroType;
  if (t.typeName === 'array') {
    const itemsType = (t as unknown as { itemsType: AvroType }).itemsType;
    const items = nonNull(itemsType);
    const item = items.length === 1 ? scalarKind(items[0] as AvroType, undefined) : undefined;
    // Nullable items would need NULL elements; jsonb keeps them without a special case.
    const itemsNullable = items.length !== branchCount(itemsType);
    if (item !== undefined && ARRAY_ITEM_KINDS.has(item) && !itemsNullable)
      return { kind: item, array: true };
    return { kind: 'jsonb', array: false };
  }
  return { kind: scalarKind(t, logicalTypeOf(fieldJson)) ?? 'jsonb', array: false };
}

function scalarKind(t: AvroType, logicalType: string | undefined): ColumnKind | undefined {
  switch (t.typeName) {
    case 'string':
    case 'enum':
      return 'text';
    case 'boolean':
      return 'boolean';
    case 'int':
      return logicalType === 'date' ? 'date' : 'integer';
    case 'long':
      return logicalType === 'timestamp-millis' ? 'timestamptz' : 'bigint';
    case 'float':
      return 'real';
    case 'double':
      return 'double';
    case 'bytes':
    case 'fixed':
      return 'bytea';
    default:
      return undefined;
  }
}

function nonNull(type: AvroType): AvroType[] {
  if (type.typeName.startsWith('union')) {
    return (type as unknown as { types: AvroType[] }).types.filter((b) => b.typeName !== 'null');
  }
  return [type];
}

function branchCount(type: AvroType): number {
  return type.typeName.startsWith('union') ? (type as unknown as { types: AvroType[] }).types.length : 1;
}

/** The logical type of a field's type as written (`{"type":"long","logicalType":…}`, also inside a union). */
function logicalTypeOf(fieldJson: unknown): string | undefined {
  const type = (fieldJson as { type?: unknown } | undefined)?.type;
  const candidates = Array.isArray(type) ? type : [type];
  for (const c of candidates) {
    if (
      c !== null &&
      typeof c === 'object' &&
      typeof (c as { logicalType?: unknown }).logicalType === 'string'
    ) {
      return (c as { logicalType: string }).logicalType;
    }
  }
  return undefined;
}

function fieldJsonByName(json: unknown): Map<string, unknown> {
  const fields = (json as { fields?: unknown } | null)?.fields;
  const out = new Map<string, unknown>();
  if (Array.isArray(fields)) {
    for (const f of fields) {
      const name = (f as { name?: unknown } | null)?.name;
      if (typeof name === 'string') out.set(name, f);
    }
  }
  return out;
}
