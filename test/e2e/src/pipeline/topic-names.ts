/** The resource types of the pipeline (deploy/local/topics.json). */
export const RESOURCE_TYPES = [
  'Patient',
  'Encounter',
  'Observation',
  'Condition',
  'MedicationRequest',
  'AllergyIntolerance',
  'Procedure',
] as const;

/** Topic names of one pipeline deployment; `prefix` is `ehr.` for the product's own names. */
export interface PipelineTopics {
  readonly prefix: string;
  readonly raw: string;
  readonly quarantine: string;
  readonly drift: string;
  readonly jobs: string;
  readonly validPrefix: string;
  readonly cleanPrefix: string;
  readonly valid: readonly string[];
  readonly clean: readonly string[];
}

export function pipelineTopics(prefix = 'ehr.'): PipelineTopics {
  return {
    prefix,
    raw: `${prefix}raw`,
    quarantine: `${prefix}quarantine`,
    drift: `${prefix}drift`,
    jobs: `${prefix}jobs`,
    validPrefix: `${prefix}valid.`,
    cleanPrefix: `${prefix}clean.`,
    valid: RESOURCE_TYPES.map((t) => `${prefix}valid.${t}`),
    clean: RESOURCE_TYPES.map((t) => `${prefix}clean.${t}`),
  };
}
