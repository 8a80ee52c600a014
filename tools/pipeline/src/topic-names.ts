import { RESOURCE_TYPES as CONTRACTED_TYPES } from '@ehrflow/contracts/manifest';

/** The resource types of the pipeline: every contract in schemas/fhir/ (the generated manifest). */
export const RESOURCE_TYPES = CONTRACTED_TYPES;

/** Topic names of one pipeline deployment; `prefix` is `ehr.` for the product's own names. */
export interface PipelineTopics {
  readonly prefix: string;
  readonly raw: string;
  readonly quarantine: string;
  readonly drift: string;
  readonly jobs: string;
  readonly validPrefix: string;
  readonly cleanPrefix: string;
  /** `<prefix>valid.deletions`, `<prefix>clean.deletions`: the deletions sources report. */
  readonly validDeletions: string;
  readonly cleanDeletions: string;
  /** Every valid-stage topic: one per resource type, then the deletions topic. */
  readonly valid: readonly string[];
  /** Every clean-stage topic: one per resource type, then the deletions topic. */
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
    validDeletions: `${prefix}valid.deletions`,
    cleanDeletions: `${prefix}clean.deletions`,
    valid: [...RESOURCE_TYPES.map((t) => `${prefix}valid.${t}`), `${prefix}valid.deletions`],
    clean: [...RESOURCE_TYPES.map((t) => `${prefix}clean.${t}`), `${prefix}clean.deletions`],
  };
}
