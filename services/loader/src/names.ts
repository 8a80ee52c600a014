import { PipelineError } from '@ehrflow/errors';

/** PostgreSQL truncates identifiers longer than this (NAMEDATALEN - 1); we refuse instead. */
const MAX_IDENTIFIER = 63;
const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * `valueQuantityValue` → `value_quantity_value`, `MedicationRequest` → `medication_request`.
 * Runs of capitals stay together (`patientRefURL` → `patient_ref_url`).
 */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** The table of a resource type: `MedicationRequest` → `medication_request`. */
export function tableNameOf(resourceType: string): string {
  return checkIdentifier(snakeCase(resourceType), `table of resource type ${resourceType}`);
}

/**
 * Checks that a generated identifier is one we can use unquoted-safe and untruncated. Names come
 * from schemas and configuration, never from records, so the name may appear in the message.
 *
 * @throws PipelineError TABLE_INCOMPATIBLE (a schema field that cannot become a column) or
 *   CONFIG_INVALID (a configured schema name).
 */
export function checkIdentifier(
  name: string,
  what: string,
  code: 'TABLE_INCOMPATIBLE' | 'CONFIG_INVALID' = 'TABLE_INCOMPATIBLE',
): string {
  if (!SAFE_IDENTIFIER.test(name) || name.length > MAX_IDENTIFIER) {
    throw new PipelineError(
      code,
      `${what}: "${name}" is not a usable PostgreSQL identifier (lower-case letters, digits and _, at most ${MAX_IDENTIFIER} characters)`,
      { context: { identifier: name } },
    );
  }
  return name;
}

/** Double-quotes an identifier (always: a column may be called `group` or `order`). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"`. */
export function qualified(schema: string, table: string): string {
  return `${ident(schema)}.${ident(table)}`;
}

/** A single-quoted SQL string literal (for DDL text that cannot take parameters). */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}
