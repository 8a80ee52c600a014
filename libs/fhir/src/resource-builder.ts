import { readFileSync } from 'node:fs';
import { PipelineError } from '@ehrflow/errors';

/**
 * What the mappings of raw formats to FHIR (HL7 v2, X12) share: reading the mapping file, one
 * built resource, FHIR ids and setting a value at a path. Imports only the error catalog, so
 * `@ehrflow/hl7` and `@ehrflow/x12` use it (`@ehrflow/fhir/resource-builder`) without the rest of
 * this package.
 */

/** One FHIR resource built from a message or a transaction set. */
export interface BuiltResource {
  readonly resourceType: string;
  readonly id: string;
  readonly resource: Record<string, unknown>;
}

/** One field rule of a mapping file: the FHIR path it fills and where its value comes from. */
export interface MappingFieldRule<T extends string> {
  /** FHIR path in the resource (`identifier[0].value`). */
  readonly path: string;
  /** Position in the message or set the value is read at. */
  readonly from?: string;
  /** A fixed value instead. */
  readonly value?: string;
  /** Text with `{POS}` parts, each the value at POS (`Patient/{NM1[IL]-09}`). */
  readonly template?: string;
  /** The format's data type of the value at `from`. */
  readonly type?: T;
  readonly required?: boolean;
}

/** What a raw format's mapping makes of one message or transaction set. */
export interface FormatMappingResult<I> {
  /** Problems against the mapping: kinds and positions, never values. */
  readonly issues: readonly I[];
  /** Empty when a blocking issue was found: the input is taken whole or not at all. */
  readonly resources: readonly BuiltResource[];
}

/** A compiled mapping of a raw format (HL7 v2, X12) to FHIR resources. */
export interface FormatMapping<In, R> {
  /** Resource types the mapping can produce (each needs a served contract). */
  readonly resourceTypes: readonly string[];
  map(input: In): R;
}

/**
 * Reads a mapping file as JSON. `format` names it in the error (`HL7`, `X12`).
 * @throws PipelineError CONFIG_INVALID when the file cannot be read or is not JSON.
 */
export function readMappingFile(path: string, format: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new PipelineError('CONFIG_INVALID', `${format} mapping file could not be read as JSON`, {
      cause: err,
      context: { path },
    });
  }
}

/** A FHIR path a field rule fills: `name`, `identifier[0].value`. */
const FIELD_PATH = /^[a-zA-Z]+(\[\d+\])?(\.[a-zA-Z]+(\[\d+\])?)*$/;

/**
 * The problems of a field rule that every format shares: exactly one source of its value
 * (`from`, `value`, `template`, or the format's own `extra`), a FHIR path `setPath` can fill, and
 * one of the format's data `types` wherever a value is read (`from`). Positions are the format's
 * own to check.
 */
export function fieldRuleProblems<T extends string>(
  where: string,
  rule: MappingFieldRule<T>,
  types: readonly T[],
  extra: { readonly name: string; readonly value: unknown },
): string[] {
  const problems: string[] = [];
  const sources = [rule.from, rule.value, rule.template, extra.value].filter((x) => x !== undefined);
  if (sources.length !== 1) problems.push(`${where}: exactly one of from, value, template, ${extra.name}`);
  if (!FIELD_PATH.test(rule.path)) problems.push(`${where}: path ${rule.path}`);
  if (rule.from !== undefined && (rule.type === undefined || !types.includes(rule.type)))
    problems.push(`${where}: type must be one of ${types.join(', ')}`);
  return problems;
}

const FHIR_ID_UNSAFE = /[^A-Za-z0-9.-]/g;

/** Text in the characters of a FHIR id: each other character becomes `-`. */
export function fhirIdCharacters(text: string): string {
  return text.replace(FHIR_ID_UNSAFE, '-');
}

/**
 * A FHIR id from text: its characters, at most 64.
 * @see https://hl7.org/fhir/R4/datatypes.html#id
 */
export function toFhirId(text: string): string {
  return fhirIdCharacters(text).slice(0, 64);
}

/** Sets `a.b[0].c` on an object, creating what is missing. */
export function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let at: Record<string, unknown> = target;
  for (const [i, part] of parts.entries()) {
    const m = /^([a-zA-Z]+)(?:\[(\d+)\])?$/.exec(part) as RegExpExecArray;
    const name = m[1] as string;
    const last = i === parts.length - 1;
    if (m[2] === undefined) {
      if (last) at[name] = value;
      else at = (at[name] ??= {}) as Record<string, unknown>;
    } else {
      const list = (at[name] ??= []) as unknown[];
      const index = Number(m[2]);
      if (last) list[index] = value;
      else at = (list[index] ??= {}) as Record<string, unknown>;
    }
  }
}
