/**
 * A contract of a resource type the repository has none for (NutritionOrder), written the way a
 * steward would, for the tests that add a type to a copy of schemas/ (new-contract*.test.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..', '..');
export const NEW_TYPE = 'NutritionOrder';

/** A small contract of a type the repository has none for, written the way a steward would. */
export function newContractJson(): Record<string, unknown> {
  const procedure = JSON.parse(readFileSync(join(REPO, 'schemas', 'fhir', 'Procedure.avsc'), 'utf8')) as {
    fields: { name: string; fhirPath?: string }[];
  };
  // The pipeline's own fields, as every contract has them (ids, job, source, version, patient).
  const head = procedure.fields.filter((f) =>
    [
      'recordId',
      'jobId',
      'sourceId',
      'logicalId',
      'versionId',
      'lastUpdated',
      'sourceLocator',
      'contractVersion',
    ].includes(f.name),
  );
  return {
    type: 'record',
    name: NEW_TYPE,
    namespace: 'ehrflow.fhir',
    doc: `FHIR R4 ${NEW_TYPE}, a contract added by a steward. @see https://hl7.org/fhir/R4/nutritionorder.html`,
    policy: 'lenient',
    fields: [
      ...head,
      {
        name: 'patientRef',
        type: 'string',
        doc: 'The patient the order is for.',
        phi: 'direct',
        deid: 'hash',
        required: true,
        fillRate: 1,
        fhirPath: 'patient.reference',
      },
      {
        name: 'status',
        type: 'string',
        doc: 'Order status.',
        phi: 'none',
        deid: 'keep',
        required: true,
        fillRate: 1,
        fhirPath: 'status',
      },
      {
        name: 'dateTime',
        type: ['null', 'string'],
        default: null,
        doc: 'When the order was made.',
        phi: 'direct',
        deid: 'dateShift',
        fillRate: 0.9,
        fhirPath: 'dateTime',
      },
      {
        name: 'oralDietTypeCodes',
        type: { type: 'array', items: 'string' },
        default: [],
        doc: 'Codes of the oral diet types.',
        phi: 'none',
        deid: 'keep',
        fillRate: 0.8,
        fhirPath: 'oralDiet.type.coding.code',
      },
    ],
  };
}
