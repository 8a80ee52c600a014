import { PipelineError } from '@ehrflow/errors';
import { isPhi, type Contract, type ContractPolicy, type FieldContract } from '@ehrflow/contracts';
import { checkPrimitive, jsonTypeOfFhir, normalizeReference, referenceTypeOf } from './fhir-values.ts';
import { dedupeIssues, isBlocking, type Issue } from './issues.ts';
import { compilePath, evaluatePath, type CompiledPath } from './path.ts';
import {
  choiceSuffix,
  choiceTypesOf,
  isDescribedType,
  isFhirResourceType,
  isPrimitiveType,
  type FhirResourceType,
} from './r4-model.ts';
import { findUnexpectedFields } from './unexpected.ts';

/**
 * Maps a parsed FHIR R4 resource onto the flat record of its data contract (`schemas/fhir/*.avsc`).
 *
 * Field attributes read (besides Avro's own):
 * - `fhirPath`: where the value comes from (subset: see path.ts);
 * - `fhirType`: the FHIR primitive type of the value (`date`, `dateTime`, `instant`, `id`, ...);
 *   checked against the R4 model when it knows the element, needed where it does not;
 * - `fhirChoice`: for a `<base>Type` field, the choice element `<base>[x]` whose present type
 *   (`Quantity`, `CodeableConcept`, ...) the field names;
 * - `referenceTo`: on a `Reference.reference` path, the resource type the reference must point
 *   at; on an `id` path, makes the value a reference to the resource itself (`Patient/<id>`);
 * - `required`, `phi`: see the contract rules below.
 * Fields without `fhirPath` or `fhirChoice` are pipeline metadata taken from {@link MapMeta}.
 *
 * A field of type array of records (`components`: `Observation.component`) reads a 0..* complex
 * element: its `fhirPath` ends at that element and each sub-field's `fhirPath` (or `fhirChoice`)
 * is relative to one item of it, so the values of one item stay together (a blood pressure's
 * systolic code, value and unit in one record). Such records carry no PHI: every sub-field and
 * the field itself are `phi: none` (the validator encrypts PHI only as whole string fields).
 *
 * Rules checked when the contract compiles (CONTRACT_VIOLATION): every path is inside the subset
 * and names R4 elements; Avro and FHIR types agree; a scalar field cannot read a 0..* element
 * without `first()`/`[n]`; a required field is not nullable; every PHI field (phi other than
 * `none`, or unclassified) is a string or array of strings, because the validator encrypts PHI
 * fields in place as `enc:v1:` strings.
 *
 * @see https://hl7.org/fhir/R4/json.html
 */

/** What the mapping reads of a contract from `contractOf` (`@ehrflow/contracts`). */
export type MappableContract = Pick<Contract, 'name' | 'fields' | 'policy'>;

/** Pipeline metadata the caller supplies (from the raw envelope and the registry). */
export interface MapMeta {
  readonly recordId: string;
  readonly jobId: string;
  readonly sourceId: string;
  readonly sourceLocator: string;
  readonly contractVersion: number;
}

export type MappedValue =
  string | number | boolean | null | readonly (string | number | boolean)[] | readonly MappedRecord[];
export type MappedRecord = Readonly<{ [field: string]: MappedValue }>;

export interface MapResult {
  /** The record, or null when a blocking issue (see `isBlocking`) keeps it from being produced. */
  readonly record: MappedRecord | null;
  readonly issues: readonly Issue[];
}

/** A contract compiled for mapping; compile once per contract version, use for every record. */
export interface Mapping {
  readonly resourceType: FhirResourceType;
  readonly policy: ContractPolicy;
  map(resource: Readonly<Record<string, unknown>>, meta: MapMeta): MapResult;
}

type AvroBase = 'string' | 'int' | 'long' | 'float' | 'double' | 'boolean';

const PIPELINE_FIELDS: Readonly<Record<string, { key: keyof MapMeta; base: AvroBase }>> = {
  recordId: { key: 'recordId', base: 'string' },
  jobId: { key: 'jobId', base: 'string' },
  sourceId: { key: 'sourceId', base: 'string' },
  sourceLocator: { key: 'sourceLocator', base: 'string' },
  contractVersion: { key: 'contractVersion', base: 'int' },
};

type Source =
  | { readonly kind: 'pipeline'; readonly key: keyof MapMeta }
  | {
      readonly kind: 'choice';
      /** Each typed JSON name (`deceasedBoolean`) with its suffix (`Boolean`). */
      readonly typed: readonly (readonly [name: string, suffix: string])[];
      /** `Patient.deceased[x]`, for issues. */
      readonly at: string;
    }
  | {
      readonly kind: 'path';
      readonly path: CompiledPath;
      /** `Patient.name.first().family`, for issues (built once, not per record). */
      readonly at: string;
      readonly fhirType: string;
      /** `Reference.reference` leaf: normalised to `Type/id`. */
      readonly isReference: boolean;
      readonly referenceTo: string | undefined;
    }
  | {
      readonly kind: 'records';
      /** Path to the 0..* complex element whose items become records. */
      readonly path: CompiledPath;
      readonly at: string;
      /** Plans of the record's fields, relative to one item. */
      readonly fields: readonly FieldPlan[];
    };

/** The source of one kind. */
type SourceOf<K extends Source['kind']> = Extract<Source, { kind: K }>;

/** A resource or a complex element of one, as parsed JSON. */
type FhirObject = Readonly<Record<string, unknown>>;

interface FieldPlan {
  readonly name: string;
  readonly required: boolean;
  readonly array: boolean;
  readonly source: Source;
}

/**
 * Compiles the mapping of a FHIR contract.
 * @throws PipelineError CONTRACT_VIOLATION naming the field when a field breaks a rule above.
 */
export function compileMapping(contract: MappableContract): Mapping {
  const resourceType = contract.name.slice(contract.name.lastIndexOf('.') + 1);
  if (!isFhirResourceType(resourceType)) {
    throw new PipelineError(
      'CONTRACT_VIOLATION',
      `contract ${contract.name} is not a FHIR R4 resource type`,
      {
        context: { contract: contract.name },
      },
    );
  }
  const plans = contract.fields
    .filter((field) => field.path === field.name)
    .map((field) => planField(resourceType, field, contract.fields));
  const policy = contract.policy ?? 'lenient';
  return {
    resourceType,
    policy,
    map: (resource, meta) => mapResource(resourceType, policy, plans, resource, meta),
  };
}

/**
 * @param rootType the resource type, or for a sub-field of a record array the element type of its
 *   items (`Observation.component`).
 * @param all every field of the contract, for the sub-fields of a record array.
 */
function planField(
  rootType: FhirResourceType,
  field: FieldContract,
  all: readonly FieldContract[],
): FieldPlan {
  const resourceType = rootType;
  function fail(reason: string): never {
    throw new PipelineError('CONTRACT_VIOLATION', `contract ${resourceType} field ${field.path}: ${reason}`, {
      context: { contract: resourceType, fieldPath: field.path },
    });
  }
  function stringAttr(key: string): string | undefined {
    const value = field.attrs[key];
    if (value !== undefined && typeof value !== 'string') fail(`${key} must be a string`);
    return value;
  }
  const array = field.avroType.startsWith('array<');
  if (array && field.avroType.startsWith('array<record ')) return planRecords(rootType, field, all, fail);
  const avroBase = array ? field.avroType.slice(6, -1) : field.avroType;
  if (!isAvroBase(avroBase)) fail(`unsupported Avro type ${field.avroType}`);
  const base = avroBase;
  if (isPhi(field) && base !== 'string') fail('a PHI field must be a string or an array of strings');
  if (array && field.nullable) fail('a 0..* field is an array (default []), not nullable');
  if (field.required && (field.nullable || array)) fail('a required field must be a non-nullable scalar');
  if (!field.required && !field.nullable && !array) fail('an optional scalar field must be nullable');

  const { required } = field;
  const fhirChoice = stringAttr('fhirChoice');
  const referenceTo = stringAttr('referenceTo');
  const fhirType = stringAttr('fhirType');

  if (field.fhirPath === undefined && fhirChoice === undefined) {
    const pipeline = PIPELINE_FIELDS[field.name];
    if (pipeline === undefined) fail('needs fhirPath or fhirChoice (or must be a pipeline metadata field)');
    if (pipeline.base !== base || array) fail(`pipeline field must be ${pipeline.base}`);
    return { name: field.name, required, array, source: { kind: 'pipeline', key: pipeline.key } };
  }

  if (fhirChoice !== undefined) {
    if (field.fhirPath !== undefined) fail('fhirChoice excludes fhirPath');
    const types = choiceTypesOf(resourceType, fhirChoice);
    if (types === undefined) fail(`${resourceType} has no choice element ${fhirChoice}[x]`);
    if (base !== 'string' || array) fail('a choice type field is a string');
    return {
      name: field.name,
      required,
      array,
      source: {
        kind: 'choice',
        typed: [...new Set(types.map(choiceSuffix))].map((suffix) => [fhirChoice + suffix, suffix] as const),
        at: `${resourceType}.${fhirChoice}[x]`,
      },
    };
  }

  const path = compilePath(field.fhirPath ?? '', resourceType);
  if (path.leafType !== undefined && fhirType !== undefined && path.leafType !== fhirType) {
    fail(`fhirType ${fhirType} disagrees with R4 type ${path.leafType}`);
  }
  const leafType = path.leafType ?? fhirType ?? fhirTypeOfAvro(base);
  if (!isPrimitiveType(leafType))
    fail(`path ends at complex type ${leafType}; map one of its primitive elements`);
  if (!avroFits(base, leafType)) fail(`Avro ${base} cannot hold FHIR ${leafType}`);
  if (!array && path.cardinality === 'many')
    fail('path can yield several values: end it with first() or [n], or use an array');
  const lastStep = path.steps[path.steps.length - 1];
  const isReference =
    path.leafOwner === 'Reference' && lastStep?.kind === 'child' && lastStep.name === 'reference';
  if (referenceTo !== undefined && !isReference && leafType !== 'id')
    fail('referenceTo applies to Reference.reference or id paths');
  return {
    name: field.name,
    required,
    array,
    source: {
      kind: 'path',
      path,
      at: `${resourceType}.${path.expression}`,
      fhirType: leafType,
      isReference,
      referenceTo,
    },
  };
}

function planRecords(
  rootType: string,
  field: FieldContract,
  all: readonly FieldContract[],
  fail: (reason: string) => never,
): FieldPlan {
  if (field.fhirPath === undefined) fail('an array of records needs the fhirPath of a 0..* element');
  if (field.nullable) fail('a 0..* field is an array (default []), not nullable');
  const path = compilePath(field.fhirPath, rootType);
  const itemType = path.leafType;
  if (itemType === undefined || isPrimitiveType(itemType) || !isDescribedType(itemType))
    fail('an array of records reads a complex element the R4 model describes');
  const prefix = `${field.path}[].`;
  const subFields = all.filter(
    (f) => f.path.startsWith(prefix) && !f.path.slice(prefix.length).includes('.'),
  );
  const fields = subFields.map((sub) => {
    if (sub.phiClass !== 'none') fail(`sub-field ${sub.name} must be phi none: records carry no PHI`);
    const plan = planField(itemType, { ...sub, path: sub.name }, []);
    if (plan.source.kind === 'pipeline' || plan.source.kind === 'records')
      fail(`sub-field ${sub.name} needs its own fhirPath or fhirChoice`);
    return plan;
  });
  if (field.phiClass !== 'none') fail('an array of records must be phi none');
  return {
    name: field.name,
    required: false,
    array: true,
    source: { kind: 'records', path, at: `${rootType}.${path.expression}`, fields },
  };
}

const AVRO_BASES: readonly string[] = ['string', 'int', 'long', 'float', 'double', 'boolean'];

function isAvroBase(name: string): name is AvroBase {
  return AVRO_BASES.includes(name);
}

function fhirTypeOfAvro(base: AvroBase): string {
  switch (base) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'int':
    case 'long':
      return 'integer';
    case 'float':
    case 'double':
      return 'decimal';
  }
}

function avroFits(base: AvroBase, fhirType: string): boolean {
  const json = jsonTypeOfFhir(fhirType);
  if (json === 'string' || json === 'boolean') return base === json;
  if (fhirType === 'decimal') return base === 'double' || base === 'float';
  return base === 'int' || base === 'long' || base === 'double';
}

function mapResource(
  resourceType: FhirResourceType,
  policy: ContractPolicy,
  plans: readonly FieldPlan[],
  resource: FhirObject,
  meta: MapMeta,
): MapResult {
  const issues: Issue[] = [];
  if (resource.resourceType !== resourceType) {
    issues.push({
      kind: 'contract_violation',
      path: 'resourceType',
      expected: resourceType,
      observed: 'another resource type',
    });
    return { record: null, issues };
  }
  for (const issue of findUnexpectedFields(resource, resourceType)) issues.push(issue);
  const record: Record<string, MappedValue> = {};
  for (const plan of plans) {
    record[plan.name] = mapField(plan, resource, meta, issues);
  }
  const unique = issues.length < 2 ? issues : dedupeIssues(issues);
  const blocked = unique.some((issue) => isBlocking(issue, policy));
  return { record: blocked ? null : record, issues: unique };
}

function mapField(plan: FieldPlan, resource: FhirObject, meta: MapMeta, issues: Issue[]): MappedValue {
  const { source } = plan;
  switch (source.kind) {
    case 'pipeline':
      return meta[source.key];
    case 'choice':
      return mapChoice(plan, source, resource, issues);
    case 'path':
      return mapPath(plan, source, resource, issues);
    case 'records':
      return mapRecords(source, resource, meta, issues);
  }
}

function mapRecords(
  source: SourceOf<'records'>,
  resource: FhirObject,
  meta: MapMeta,
  issues: Issue[],
): readonly MappedRecord[] {
  const { values, problems } = evaluatePath(source.path, resource);
  for (const problem of problems) issues.push({ kind: 'type_mismatch', ...problem });
  const out: MappedRecord[] = [];
  for (const item of values) {
    // evaluatePath yields objects for a complex element; anything else was reported above.
    if (typeof item !== 'object' || item === null || Array.isArray(item)) continue;
    const record: Record<string, MappedValue> = {};
    for (const plan of source.fields) {
      record[plan.name] = mapField(plan, item as FhirObject, meta, issues);
    }
    out.push(record);
  }
  return out;
}

function mapChoice(
  plan: FieldPlan,
  source: SourceOf<'choice'>,
  resource: FhirObject,
  issues: Issue[],
): MappedValue {
  const path = source.at;
  const present: string[] = [];
  for (const [name, suffix] of source.typed) if (Object.hasOwn(resource, name)) present.push(suffix);
  if (present.length > 1) {
    issues.push(violation(plan, path, 'one type', `${present.length} types`));
    return null;
  }
  if (present.length === 0 && plan.required)
    issues.push({ kind: 'missing_required', path, field: plan.name });
  return present[0] ?? null;
}

function mapPath(
  plan: FieldPlan,
  source: SourceOf<'path'>,
  resource: FhirObject,
  issues: Issue[],
): MappedValue {
  const path = source.at;
  const { values, problems } = evaluatePath(source.path, resource);
  for (const problem of problems) issues.push({ kind: 'type_mismatch', field: plan.name, ...problem });
  const converted: (string | number | boolean)[] = [];
  let rejected = problems.length > 0;
  for (const value of values) {
    const mismatch = checkPrimitive(value, source.fhirType);
    if (mismatch !== undefined) {
      issues.push({ kind: 'type_mismatch', path, field: plan.name, ...mismatch });
      rejected = true;
      continue;
    }
    const out = convertValue(value as string | number | boolean, source);
    if (out === undefined) {
      issues.push(
        violation(
          plan,
          path,
          `Reference(${source.referenceTo ?? 'any'})`,
          'a reference to another type or a non-literal reference',
        ),
      );
      rejected = true;
      continue;
    }
    converted.push(out);
  }
  if (plan.array) return converted;
  if (values.length > 1) {
    issues.push(violation(plan, path, 'one value', `${values.length} values`));
    return null;
  }
  if (converted.length === 0 && plan.required && !rejected)
    issues.push({ kind: 'missing_required', path, field: plan.name });
  return converted[0] ?? null;
}

/** A field breaking its contract at `path`: what the contract expects, and the kind of what was found. */
function violation(plan: FieldPlan, path: string, expected: string, observed: string): Issue {
  return { kind: 'contract_violation', path, field: plan.name, expected, observed };
}

/** Reference normalisation and self-references; undefined when a reference breaks `referenceTo`. */
function convertValue(
  value: string | number | boolean,
  source: SourceOf<'path'>,
): string | number | boolean | undefined {
  if (typeof value !== 'string') return value;
  if (source.isReference) {
    const normalized = normalizeReference(value);
    if (source.referenceTo === undefined) return normalized ?? value;
    return normalized !== undefined && referenceTypeOf(normalized) === source.referenceTo
      ? normalized
      : undefined;
  }
  if (source.referenceTo !== undefined) return `${source.referenceTo}/${value}`;
  return value;
}
