import avro from 'avsc';
import type { Type, types } from 'avsc';
import { PipelineError } from '@ehrflow/errors';

/**
 * A parsed Avro type (avsc). Longs are JS numbers; logical types are read as their underlying type.
 * Decoded records are plain objects of their fields: avsc's record methods (`clone`, `toBuffer`,
 * …) are left off (`omitRecordMethods`), since they sit on each record's prototype as enumerable
 * properties and put every `for…in` over a record on V8's slow path.
 */
export type AvroType = Type;

/** Plain JSON form of an Avro schema, as found in a `.avsc` file or a registry answer. */
export type AvroSchemaJson = Readonly<Record<string, unknown>> | string | readonly unknown[];

/**
 * Parses an Avro schema. Unions keep avsc's default representation: a union of `null` and one
 * other type is unwrapped (`null` or the value); any other union is wrapped (`{ "<branch>": value }`).
 *
 * @param label where the schema came from (file name, subject), used in the error message.
 * @throws PipelineError SCHEMA_INVALID naming the label and the problem.
 */
export function parseAvro(schema: unknown, label: string): AvroType {
  try {
    return avro.Type.forSchema(schema as Parameters<typeof avro.Type.forSchema>[0], {
      omitRecordMethods: true,
    });
  } catch (err) {
    throw new PipelineError('SCHEMA_INVALID', `${label}: invalid Avro schema: ${messageOf(err)}`, {
      context: { schema: label },
    });
  }
}

/**
 * Parses schema text (JSON) into its JSON form and its avsc type.
 *
 * @throws PipelineError SCHEMA_INVALID naming the label and the problem.
 */
export function parseAvroText(text: string, label: string): { json: unknown; type: AvroType } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new PipelineError('SCHEMA_INVALID', `${label}: not valid JSON: ${messageOf(err)}`, {
      context: { schema: label },
    });
  }
  return { json, type: parseAvro(json, label) };
}

/**
 * The text we register: the JSON without insignificant whitespace, keys in file order. The
 * registry (Apicurio) stores text verbatim and treats a whitespace change as a new version, so
 * every registration must go through this one function.
 */
export function canonicalText(json: unknown): string {
  return JSON.stringify(json);
}

/** Whether two schema JSON documents are the same, ignoring key order and whitespace. */
export function sameSchemaJson(a: unknown, b: unknown): boolean {
  return stableStringify(a) === stableStringify(b);
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The short (unqualified) name of a named type: `ehrflow.pipeline.JobCounts` → `JobCounts`. */
export function shortName(fullName: string): string {
  const dot = fullName.lastIndexOf('.');
  return dot < 0 ? fullName : fullName.slice(dot + 1);
}

export function isRecordType(type: AvroType): type is types.RecordType {
  return type.typeName === 'record' || type.typeName === 'error';
}

export function isUnionType(type: AvroType): type is types.UnwrappedUnionType | types.WrappedUnionType {
  return type.typeName.startsWith('union');
}

export function isArrayType(type: AvroType): type is types.ArrayType {
  return type.typeName === 'array';
}

export function isMapType(type: AvroType): type is types.MapType {
  return type.typeName === 'map';
}

export function isEnumType(type: AvroType): type is types.EnumType {
  return type.typeName === 'enum';
}

/** Branches of a union other than `null`; the type itself when it is not a union. */
export function nonNullBranches(type: AvroType): AvroType[] {
  return isUnionType(type) ? type.types.filter((t) => t.typeName !== 'null') : [type];
}

/** Whether a type accepts `null` (is `null` or a union with a `null` branch). */
export function isNullable(type: AvroType): boolean {
  return type.typeName === 'null' || (isUnionType(type) && type.types.some((t) => t.typeName === 'null'));
}

/**
 * A readable name of a type for messages and diffs: `string`, `null | string`, `array<string>`,
 * `map<long>`, `enum RawKind`, `record JobCounts`. Type names only, never values.
 *
 * @param full use fully qualified names for named types (to compare types, not to show them).
 */
export function describeType(type: AvroType, full = false): string {
  const name = (t: AvroType): string => (full ? (t.name ?? '?') : shortName(t.name ?? '?'));
  if (isUnionType(type)) return type.types.map((t) => describeType(t, full)).join(' | ');
  if (isArrayType(type)) return `array<${describeType(type.itemsType, full)}>`;
  if (isMapType(type)) return `map<${describeType(type.valuesType as AvroType, full)}>`;
  if (isRecordType(type) || isEnumType(type) || type.typeName === 'fixed')
    return `${type.typeName} ${name(type)}`;
  return type.typeName;
}

/** The doc string avsc keeps on a field (absent from avsc's typings). */
export function fieldDoc(field: types.Field): string | undefined {
  const doc = (field as { doc?: unknown }).doc;
  return typeof doc === 'string' ? doc : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
