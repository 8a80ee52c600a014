import type { types } from 'avsc';
import {
  describeType,
  isArrayType,
  isEnumType,
  isMapType,
  isRecordType,
  isUnionType,
  parseAvro,
  type AvroType,
} from './avro.ts';
import {
  directionsOf,
  resolutionProblem,
  type CompatibilityDirection,
  type CompatibilityLevel,
} from './compatibility.ts';
import { contractOf, type FieldContract } from './contract.ts';

export type ChangeKind = 'added' | 'removed' | 'type_changed' | 'default_removed' | 'attribute_changed';

/** One difference between a registered version and a local schema, explained. */
export interface SchemaChange {
  readonly subject: string | undefined;
  /** Field path as in contracts (`counts.read`, `name[].given`); empty for the record itself. */
  readonly path: string;
  readonly change: ChangeKind;
  /** Readable type before (absent for `added`). */
  readonly oldType?: string;
  /** Readable type after (absent for `removed`). */
  readonly newType?: string;
  /** Extra facts: enum symbols added/removed, which attribute changed and how. */
  readonly detail?: string;
  /** Directions this change breaks against the version it is compared with. */
  readonly breaks: readonly CompatibilityDirection[];
  /** Why it breaks (or why it does not), e.g. `BACKWARD: a new field without a default ...`. */
  readonly rule: string;
}

/** Contract attributes compared by the diff (docs are left out: they change often and break nothing). */
const COMPARED_ATTRIBUTES = ['phi', 'deid', 'required', 'fillRate', 'fhirPath'] as const;

/**
 * Lists the changes from one schema version to the next: fields added and removed, types
 * changed, defaults removed and contract attributes changed, each with the compatibility rule
 * it touches. Field types are compared with avsc schema resolution, so promotions (int → long)
 * and enum symbol changes are judged the way Avro readers will judge them.
 *
 * @param oldSchema the registered version (JSON or its text).
 * @param newSchema the local schema (JSON or its text).
 */
export function diffSchemas(
  oldSchema: unknown,
  newSchema: unknown,
  options: { subject?: string } = {},
): SchemaChange[] {
  const subject = options.subject;
  const label = subject ?? 'schema';
  const oldJson = typeof oldSchema === 'string' ? (JSON.parse(oldSchema) as unknown) : oldSchema;
  const newJson = typeof newSchema === 'string' ? (JSON.parse(newSchema) as unknown) : newSchema;
  const oldType = parseAvro(oldJson, `${label} (registered)`);
  const newType = parseAvro(newJson, `${label} (local)`);
  const changes: SchemaChange[] = [];
  const push = (c: Omit<SchemaChange, 'subject'>): void => {
    changes.push({ subject, ...c });
  };
  compareTypes(oldType, newType, '', push);
  if (isRecordType(oldType) && isRecordType(newType)) {
    const oldFields = contractOf(oldJson, label).fields;
    compareAttributes(oldFields, contractOf(newJson, label).fields, push);
    const required = new Set(oldFields.filter((f) => f.required).map((f) => f.path));
    return changes.map((c) =>
      c.change === 'removed' && required.has(c.path)
        ? {
            ...c,
            breaks: [...c.breaks, 'CONTRACT'],
            rule: `CONTRACT: the field is required by the contract and may not be removed (${c.rule})`,
          }
        : c,
    );
  }
  return changes;
}

/** Whether a change breaks a compatibility level (against the version it was compared with). */
export function breaksLevel(change: Pick<SchemaChange, 'breaks'>, level: CompatibilityLevel): boolean {
  return change.breaks.includes('CONTRACT') || directionsOf(level).some((d) => change.breaks.includes(d));
}

type Push = (c: Omit<SchemaChange, 'subject'>) => void;

function compareTypes(oldType: AvroType, newType: AvroType, path: string, push: Push): void {
  const oldRecord = soleRecord(oldType);
  const newRecord = soleRecord(newType);
  const sameShape = describeType(oldType, true) === describeType(newType, true);
  if (oldRecord !== undefined && newRecord !== undefined && sameShape) {
    compareRecords(oldRecord.record, newRecord.record, `${path}${oldRecord.suffix}`, push);
    return;
  }
  if (sameShape && !hasEnumChange(oldType, newType)) return;
  push(typeChange(oldType, newType, path));
}

function compareRecords(
  oldRec: types.RecordType,
  newRec: types.RecordType,
  prefix: string,
  push: Push,
): void {
  const at = (name: string): string => (prefix === '' ? name : `${prefix}.${name}`);
  const matched = new Set<string>();
  for (const field of newRec.fields) {
    const old =
      oldRec.fields.find((f) => f.name === field.name) ??
      oldRec.fields.find((f) => (field.aliases ?? []).includes(f.name));
    const path = at(field.name);
    if (old === undefined) {
      const hasDefault = field.defaultValue() !== undefined;
      push({
        path,
        change: 'added',
        newType: describeType(field.type),
        breaks: hasDefault ? [] : ['BACKWARD'],
        rule: hasDefault
          ? 'compatible: the new field has a default for records written before it existed'
          : 'BACKWARD: a new field without a default cannot be read from records written before it existed (give it a default)',
      });
      continue;
    }
    matched.add(old.name);
    compareTypes(old.type, field.type, path, push);
    if (old.defaultValue() !== undefined && field.defaultValue() === undefined) {
      push({
        path,
        change: 'default_removed',
        oldType: describeType(old.type),
        newType: describeType(field.type),
        breaks: [],
        rule: 'BACKWARD_TRANSITIVE: records of any older version that lacks this field can no longer be read',
      });
    }
  }
  for (const old of oldRec.fields) {
    if (matched.has(old.name)) continue;
    const hadDefault = old.defaultValue() !== undefined;
    push({
      path: at(old.name),
      change: 'removed',
      oldType: describeType(old.type),
      breaks: hadDefault ? [] : ['FORWARD'],
      rule: hadDefault
        ? 'compatible: readers of the previous version fall back to its default'
        : 'FORWARD: readers still on the previous version need this field and it has no default (BACKWARD allows the removal)',
    });
  }
}

function typeChange(oldType: AvroType, newType: AvroType, path: string): Omit<SchemaChange, 'subject'> {
  const backward = resolutionProblem(newType, oldType);
  const forward = resolutionProblem(oldType, newType);
  const breaks: CompatibilityDirection[] = [];
  if (backward !== undefined) breaks.push('BACKWARD');
  if (forward !== undefined) breaks.push('FORWARD');
  const o = describeType(oldType);
  const n = describeType(newType);
  let rule: string;
  if (backward !== undefined && forward !== undefined) {
    rule = `BACKWARD and FORWARD: ${o} and ${n} cannot be read as each other`;
  } else if (backward !== undefined) {
    rule = `BACKWARD: the new schema cannot read old ${o} data as ${n} (${backward})`;
  } else if (forward !== undefined) {
    rule = `FORWARD: readers of the previous version cannot read ${n} as ${o} (BACKWARD allows it)`;
  } else {
    rule = `compatible: Avro resolves ${o} to ${n} both ways`;
  }
  return {
    path,
    change: 'type_changed',
    oldType: o,
    newType: n,
    detail: enumDetail(oldType, newType),
    breaks,
    rule,
  };
}

function compareAttributes(
  oldFields: readonly FieldContract[],
  newFields: readonly FieldContract[],
  push: Push,
): void {
  const before = new Map(oldFields.map((f) => [f.path, f]));
  for (const field of newFields) {
    const old = before.get(field.path);
    if (old === undefined) continue;
    const changed = COMPARED_ATTRIBUTES.filter((a) => old.attrs[a] !== field.attrs[a]).map(
      (a) => `${a}: ${show(old.attrs[a])} → ${show(field.attrs[a])}`,
    );
    if (changed.length === 0) continue;
    push({
      path: field.path,
      change: 'attribute_changed',
      oldType: old.avroType,
      newType: field.avroType,
      detail: changed.join(', '),
      breaks: [],
      rule: 'contract only: Avro compatibility is unaffected; the validator and redactor act on the new value',
    });
  }
}

/** The one record a type holds directly or through a nullable union, array or map, if any. */
function soleRecord(type: AvroType, suffix = ''): { record: types.RecordType; suffix: string } | undefined {
  if (isRecordType(type)) return { record: type, suffix };
  if (isArrayType(type)) return soleRecord(type.itemsType, `${suffix}[]`);
  if (isMapType(type)) return soleRecord(type.valuesType as AvroType, `${suffix}{}`);
  if (isUnionType(type)) {
    const records = type.types.filter((t) => soleRecord(t) !== undefined);
    return records.length === 1 && records[0] !== undefined ? soleRecord(records[0], suffix) : undefined;
  }
  return undefined;
}

function enumsOf(type: AvroType): types.EnumType[] {
  if (isEnumType(type)) return [type];
  if (isUnionType(type)) return type.types.flatMap(enumsOf);
  if (isArrayType(type)) return enumsOf(type.itemsType);
  if (isMapType(type)) return enumsOf(type.valuesType as AvroType);
  return [];
}

function hasEnumChange(oldType: AvroType, newType: AvroType): boolean {
  return enumDetail(oldType, newType) !== undefined;
}

function enumDetail(oldType: AvroType, newType: AvroType): string | undefined {
  const parts: string[] = [];
  for (const n of enumsOf(newType)) {
    const o = enumsOf(oldType).find((e) => e.name === n.name);
    if (o === undefined) continue;
    const added = n.symbols.filter((s) => !o.symbols.includes(s));
    const removed = o.symbols.filter((s) => !n.symbols.includes(s));
    if (added.length > 0) parts.push(`symbols added: ${added.join(', ')}`);
    if (removed.length > 0) parts.push(`symbols removed: ${removed.join(', ')}`);
  }
  return parts.length > 0 ? parts.join('; ') : undefined;
}

function show(value: unknown): string {
  return value === undefined ? '(none)' : JSON.stringify(value);
}
