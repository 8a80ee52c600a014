import { parseAvro } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import type { CompiledContract, CompiledField, CompiledPolicy } from './compile.ts';
import { POLICY_FIELD, POLICY_VERSION_FIELD } from './deidentify.ts';

/** Namespace of every clean record schema. */
export const CLEAN_NAMESPACE = 'ehrflow.clean';

type JsonObject = Record<string, unknown>;

/**
 * Derives the value schema of `ehr.clean.<Type>` from the source contract's schema JSON and the
 * compiled policy, deterministically (same inputs, same text, so registering it twice is a no-op):
 * - dropped fields are absent;
 * - kept fields are copied as they are, attributes included (a PHI field kept under a limited
 *   data set keeps its `phi` class, so the schema says honestly that it carries PHI);
 * - hashed, shifted, generalised and scrubbed fields become `string` (nullable when the source
 *   was, arrays stay arrays of strings), with `phi: "none"`, `sourcePhi` (the class they had) and
 *   `deid` (the method applied);
 * - `deidPolicy` and `deidPolicyVersion` are appended, and named on the record as attributes.
 *
 * @throws PipelineError SCHEMA_INVALID when the source JSON does not match the contract or the
 *   result is not valid Avro.
 */
export function deriveCleanSchema(
  sourceSchema: unknown,
  compiled: CompiledContract,
  policy: CompiledPolicy,
): JsonObject {
  const source = asObject(sourceSchema, compiled.type);
  const sourceFields = Array.isArray(source.fields) ? (source.fields as JsonObject[]) : [];
  const fields: JsonObject[] = [];
  for (const field of compiled.fields) {
    if (field.output === 'removed') continue;
    const json = sourceFields.find((f) => f.name === field.name);
    if (json === undefined) {
      throw new PipelineError(
        'SCHEMA_INVALID',
        `clean schema ${compiled.type}: source schema has no field ${field.name}`,
        {
          context: { resourceType: compiled.type, fieldPath: field.name },
        },
      );
    }
    fields.push(
      field.output === 'unchanged' ? { ...json, deid: field.method } : transformedField(field, json),
    );
  }
  fields.push(
    policyField(POLICY_FIELD, `Name of the de-identification policy applied (${policy.name}).`),
    policyField(POLICY_VERSION_FIELD, 'Version of the de-identification policy applied.'),
  );
  const name =
    typeof source.name === 'string' ? source.name.slice(source.name.lastIndexOf('.') + 1) : compiled.type;
  const schema: JsonObject = {
    type: 'record',
    name,
    namespace: CLEAN_NAMESPACE,
    doc: `De-identified ${compiled.type} under policy ${policy.name} ${policy.version}, derived from ${compiled.contract.name} by the redactor.`,
    deidPolicy: policy.name,
    deidPolicyVersion: policy.version,
    derivedFrom: compiled.contract.name,
    fields,
  };
  parseAvro(schema, `clean schema ${compiled.type}`);
  return schema;
}

function transformedField(field: CompiledField, json: JsonObject): JsonObject {
  const source = field.field;
  const isArray = source.avroType.startsWith('array<');
  const type = isArray ? { type: 'array', items: 'string' } : source.nullable ? ['null', 'string'] : 'string';
  const out: JsonObject = { name: field.name, type };
  if (isArray) out.default = [];
  else if (source.nullable) out.default = null;
  const doc = typeof json.doc === 'string' ? `${json.doc} ` : '';
  out.doc = `${doc}De-identified by ${describe(field)}.`;
  out.phi = 'none';
  out.sourcePhi = source.phiClass;
  out.deid = field.method;
  out.required = source.required;
  if (source.fillRate !== undefined) out.fillRate = source.fillRate;
  return out;
}

function describe(field: CompiledField): string {
  const rule = field.rule;
  switch (rule.method) {
    case 'generalize':
      return rule.to === undefined ? 'generalize' : `generalize to ${rule.to}`;
    case 'hash':
      return 'keyed hash (pseudonym)';
    case 'dateShift':
      return 'per-patient date shift';
    case 'scrub':
      return 'free-text scrub';
    case 'withhold':
      return 'withheld ([WITHHELD])';
    case 'drop':
    case 'keep':
      return rule.method;
  }
}

function policyField(name: string, doc: string): JsonObject {
  return { name, type: 'string', doc, phi: 'none', deid: 'keep', required: true, fillRate: 1 };
}

function asObject(schema: unknown, type: string): JsonObject {
  const json: unknown = typeof schema === 'string' ? JSON.parse(schema) : schema;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new PipelineError('SCHEMA_INVALID', `clean schema ${type}: source schema is not a record`, {
      context: { resourceType: type },
    });
  }
  return json as JsonObject;
}
