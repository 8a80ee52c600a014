/**
 * Naming of the deletion topics. A source's deletions travel on their own topics next to the
 * per-type ones: `<stage prefix>deletions` (`ehr.valid.deletions`, `ehr.clean.deletions`), whose
 * value schema is `schemas/pipeline/deletion.avsc` under `<topic>-value`. The lower-case suffix
 * can never be a FHIR resource type, so it cannot clash with `<stage prefix><Type>`.
 */

/** Last segment of the deletion topics. */
export const DELETIONS_TOPIC_SUFFIX = 'deletions';

/** The schema file (relative to `schemas/`) of both deletion subjects. */
export const DELETION_SCHEMA_FILE = 'pipeline/deletion.avsc';

/** `ehr.valid.` → `ehr.valid.deletions`; `ehr.clean.` → `ehr.clean.deletions`. */
export function deletionsTopicOf(stagePrefix: string): string {
  return `${stagePrefix}${DELETIONS_TOPIC_SUFFIX}`;
}

/**
 * Kafka header that marks a record as a deletion (value `DELETE`): set on every record of the
 * deletion topics, read by the loader (which also accepts `deleted: true` in the value).
 */
export const KIND_HEADER = 'ehrflow-kind';
