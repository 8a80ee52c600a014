import { z } from 'zod';
import type { types } from 'avsc';
import { PipelineError } from '@ehrflow/errors';
import {
  describeType,
  fieldDoc,
  isArrayType,
  isMapType,
  isNullable,
  isRecordType,
  isUnionType,
  nonNullBranches,
  parseAvro,
  parseAvroText,
  type AvroType,
} from './avro.ts';

/** PHI class a schema field declares with its `phi` attribute. */
export type PhiClass = 'none' | 'direct' | 'quasi' | 'free_text';

/** A field's effective PHI class: `unclassified` when nothing declares one (default-deny: treated as PHI). */
export type PhiClassification = PhiClass | 'unclassified';

/** Record-level policy for fields a source sends that the contract does not know. */
export type ContractPolicy = 'strict' | 'lenient';

/**
 * One field of a contract, at any depth. `path` is dotted from the top-level record, with `[]`
 * for array items and `{}` for map values: `counts.read`, `name[].given`, `tags{}.code`.
 */
export interface FieldContract {
  readonly name: string;
  readonly path: string;
  /** Readable Avro type of the field without its `null` branch, e.g. `string`, `record JobCounts`. */
  readonly avroType: string;
  /** Whether the Avro type admits `null`. */
  readonly nullable: boolean;
  /** Whether the schema gives the field a default. */
  readonly hasDefault: boolean;
  /** The `phi` attribute as written, or undefined when absent. */
  readonly phi: PhiClass | undefined;
  /**
   * The class the pipeline acts on: the attribute when present; for a field holding records and
   * no attribute, the most sensitive class among its sub-fields; otherwise `unclassified`.
   */
  readonly phiClass: PhiClassification;
  /** De-identification method (`deid` attribute), interpreted by the redactor. */
  readonly deid: string | undefined;
  /** The `required` attribute; absent, a field is required when it is neither nullable nor defaulted. */
  readonly required: boolean;
  /** Expected share of records that carry the field (0..1), from the `fillRate` attribute. */
  readonly fillRate: number | undefined;
  /** FHIRPath the field is mapped from (`fhirPath` attribute). */
  readonly fhirPath: string | undefined;
  readonly doc: string | undefined;
  /** Every non-Avro attribute of the field as written, including ones this library does not know. */
  readonly attrs: Readonly<Record<string, unknown>>;
}

/** The data contract of one top-level record schema. */
export interface Contract {
  /** Fully qualified record name. */
  readonly name: string;
  /** Every field, parents before their sub-fields, in schema order. */
  readonly fields: readonly FieldContract[];
  readonly policy: ContractPolicy | undefined;
  /** Non-Avro attributes of the top-level record. */
  readonly attrs: Readonly<Record<string, unknown>>;
}

const PHI_CLASSES = ['none', 'direct', 'quasi', 'free_text'] as const;
const PHI_RANK: Record<PhiClassification, number> = {
  none: 0,
  quasi: 1,
  free_text: 2,
  direct: 3,
  unclassified: 4,
};
const FIELD_KEYS = new Set(['name', 'type', 'doc', 'default', 'aliases', 'order']);
const RECORD_KEYS = new Set(['type', 'name', 'namespace', 'doc', 'aliases', 'fields']);

const fieldAttrsSchema = z.looseObject({
  phi: z.enum(PHI_CLASSES).optional(),
  deid: z.string().min(1).optional(),
  required: z.boolean().optional(),
  fillRate: z.number().min(0).max(1).optional(),
  fhirPath: z.string().min(1).optional(),
});

const recordAttrsSchema = z.looseObject({ policy: z.enum(['strict', 'lenient']).optional() });

/** Whether the pipeline must treat a field as PHI. Unclassified fields are PHI (default-deny). */
export function isPhi(field: Pick<FieldContract, 'phiClass'>): boolean {
  return field.phiClass !== 'none';
}

/** Turns a concrete value path (`name[2].given[0]`) into its contract path (`name[].given[]`). */
export function toContractPath(valuePath: string): string {
  return valuePath.replace(/\[\d+\]/g, '[]').replace(/\[\*\]/g, '{}');
}

/**
 * Reads the contract of a record schema: its fields with their custom attributes, validated.
 *
 * @param schema schema JSON, or its text.
 * @param label where the schema came from, for error messages (file name or subject).
 * @throws PipelineError SCHEMA_INVALID when the schema is not a valid Avro record or an attribute
 *   has the wrong shape (the message names the field path and attribute).
 */
export function contractOf(schema: unknown, label = 'schema'): Contract {
  const { json, type } =
    typeof schema === 'string'
      ? parseAvroText(schema, label)
      : { json: schema, type: parseAvro(schema, label) };
  if (!isRecordType(type)) {
    throw new PipelineError(
      'SCHEMA_INVALID',
      `${label}: a contract must be a record, found ${type.typeName}`,
    );
  }
  const definitions = collectRecordDefinitions(json);
  const topJson = definitions.get(type.name ?? '') ?? {};
  const recordAttrs = pickAttrs(topJson, RECORD_KEYS);
  const parsed = recordAttrsSchema.safeParse(recordAttrs);
  if (!parsed.success) {
    throw attributeError(label, '(record)', parsed.error);
  }
  const fields = walkRecord(type, '', new Set([type.name ?? '']), definitions, label);
  return {
    name: type.name ?? '',
    fields: fields.map((f) => f.field),
    policy: parsed.data.policy,
    attrs: recordAttrs,
  };
}

interface Walked {
  readonly field: FieldContract;
  /** The field's own class, or aggregated; what a parent aggregates over. */
  readonly phiClass: PhiClassification;
}

function walkRecord(
  record: types.RecordType,
  prefix: string,
  onPath: ReadonlySet<string>,
  definitions: ReadonlyMap<string, Record<string, unknown>>,
  label: string,
): Walked[] {
  const out: Walked[] = [];
  const recordJson = definitions.get(record.name ?? '');
  const jsonFields = Array.isArray(recordJson?.fields)
    ? (recordJson.fields as Record<string, unknown>[])
    : [];
  for (const field of record.fields) {
    const path = `${prefix}${field.name}`;
    const fieldJson = jsonFields.find((f) => f.name === field.name) ?? {};
    const attrs = pickAttrs(fieldJson, FIELD_KEYS);
    const parsed = fieldAttrsSchema.safeParse(attrs);
    if (!parsed.success) throw attributeError(label, path, parsed.error);
    const a = parsed.data;

    const children: Walked[] = [];
    let recursive = false;
    for (const { record: child, suffix } of nestedRecords(field.type, '')) {
      if (onPath.has(child.name ?? '')) {
        recursive = true;
        continue;
      }
      const next = new Set(onPath).add(child.name ?? '');
      children.push(...walkRecord(child, `${path}${suffix}.`, next, definitions, label));
    }
    const direct = children.filter((c) => isDirectChild(c, path));
    const phiClass: PhiClassification =
      a.phi ?? (direct.length > 0 && !recursive ? worst(direct.map((c) => c.phiClass)) : 'unclassified');

    const nullable = isNullable(field.type);
    const hasDefault = field.defaultValue() !== undefined;
    const branches = nonNullBranches(field.type);
    out.push({
      phiClass,
      field: {
        name: field.name,
        path,
        avroType: branches.map((t) => describeType(t)).join(' | ') || 'null',
        nullable,
        hasDefault,
        phi: a.phi,
        phiClass,
        deid: a.deid,
        required: a.required ?? (!nullable && !hasDefault),
        fillRate: a.fillRate,
        fhirPath: a.fhirPath,
        doc: fieldDoc(field),
        attrs,
      },
    });
    out.push(...children);
  }
  return out;
}

/** Whether a walked sub-field sits one level below `parentPath` (not deeper). */
function isDirectChild(child: Walked, parentPath: string): boolean {
  const rest = child.field.path.slice(parentPath.length);
  // rest looks like ".x", "[].x" or "{}.x" for a direct child
  return /^(\[\]|\{\})*\.[^.]+$/.test(rest);
}

/** Records reachable from a type through unions, arrays and maps, with the path suffix to reach them. */
function nestedRecords(type: AvroType, suffix: string): { record: types.RecordType; suffix: string }[] {
  if (isRecordType(type)) return [{ record: type, suffix }];
  if (isUnionType(type)) return type.types.flatMap((t) => nestedRecords(t, suffix));
  if (isArrayType(type)) return nestedRecords(type.itemsType, `${suffix}[]`);
  if (isMapType(type)) return nestedRecords(type.valuesType as AvroType, `${suffix}{}`);
  return [];
}

function worst(classes: readonly PhiClassification[]): PhiClassification {
  return classes.reduce<PhiClassification>((acc, c) => (PHI_RANK[c] > PHI_RANK[acc] ? c : acc), 'none');
}

function pickAttrs(json: Record<string, unknown>, avroKeys: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(json).filter(([k]) => !avroKeys.has(k)));
}

function attributeError(label: string, path: string, error: z.ZodError): PipelineError {
  const problems = error.issues.map(
    (issue) => `attribute ${issue.path.map(String).join('.')}: ${describeIssue(issue)}`,
  );
  return new PipelineError('SCHEMA_INVALID', `${label}: field ${path}: ${problems.join('; ')}`, {
    context: { schema: label, fieldPath: path },
  });
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_value') return `expected one of ${issue.values.map(String).join(', ')}`;
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`;
  if (issue.code === 'too_small') return `must be at least ${String(issue.minimum)}`;
  if (issue.code === 'too_big') return `must be at most ${String(issue.maximum)}`;
  return issue.message;
}

/**
 * Finds every record definition in a schema's JSON by its fully qualified name, following the
 * Avro namespace rules (a dotted name is already qualified; otherwise the nearest namespace).
 * avsc keeps no custom attributes, so this is where they are read from.
 */
function collectRecordDefinitions(json: unknown): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const visit = (node: unknown, namespace: string): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n, namespace);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const obj = node as Record<string, unknown>;
    const kind = obj.type;
    if (
      (kind === 'record' || kind === 'error' || kind === 'enum' || kind === 'fixed') &&
      typeof obj.name === 'string'
    ) {
      const ns = typeof obj.namespace === 'string' ? obj.namespace : namespace;
      const full = obj.name.includes('.') || ns === '' ? obj.name : `${ns}.${obj.name}`;
      const inner = full.includes('.') ? full.slice(0, full.lastIndexOf('.')) : '';
      if (kind === 'record' || kind === 'error') {
        out.set(full, obj);
        for (const f of Array.isArray(obj.fields) ? obj.fields : []) {
          visit((f as Record<string, unknown> | null)?.type, inner);
        }
      }
      return;
    }
    if (kind === 'array') visit(obj.items, namespace);
    else if (kind === 'map') visit(obj.values, namespace);
    else if (typeof kind === 'object') visit(kind, namespace);
  };
  visit(json, '');
  return out;
}
