/**
 * Checks of single FHIR JSON values against their declared FHIR type. Results name types only
 * (`string`, `number`, `date`), never the value, so they are safe to put in issues and errors.
 *
 * @see https://hl7.org/fhir/R4/datatypes.html#primitive
 * @see https://hl7.org/fhir/R4/json.html#primitive
 */

/** JSON type name of a value as a reader would call it: `string`, `number`, `boolean`, `null`, `array`, `object`. */
export function jsonTypeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function isJsonObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const YEAR = '[0-9]{4}';
const MONTH = '(0[1-9]|1[0-2])';
const DAY = '(0[1-9]|[12][0-9]|3[01])';
const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?';
const ZONE = '(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';

/** Formats checked beyond the JSON type (the R4 regexes, simplified to four-digit years). */
const FORMATS: Readonly<Record<string, RegExp>> = {
  date: new RegExp(`^${YEAR}(-${MONTH}(-${DAY})?)?$`),
  dateTime: new RegExp(`^${YEAR}(-${MONTH}(-${DAY}(T${TIME}${ZONE})?)?)?$`),
  instant: new RegExp(`^${YEAR}-${MONTH}-${DAY}T${TIME}${ZONE}$`),
  time: new RegExp(`^${TIME}$`),
  id: /^[A-Za-z0-9\-.]{1,64}$/,
};

const NUMERIC = new Set(['decimal', 'integer', 'positiveInt', 'unsignedInt']);
const INTEGRAL = new Set(['integer', 'positiveInt', 'unsignedInt']);

/** The JSON type a FHIR primitive is written as. */
export function jsonTypeOfFhir(fhirType: string): 'string' | 'number' | 'boolean' {
  if (fhirType === 'boolean') return 'boolean';
  return NUMERIC.has(fhirType) ? 'number' : 'string';
}

/** Why a value does not fit its FHIR primitive type, named by types only. */
export interface ValueMismatch {
  readonly expected: string;
  readonly observed: string;
}

const INT32_MAX = 2_147_483_647;

/**
 * Checks `value` against FHIR primitive `fhirType`: first its JSON type, then its lexical form
 * (dates, ids, integer ranges). Returns undefined when it fits.
 */
export function checkPrimitive(value: unknown, fhirType: string): ValueMismatch | undefined {
  const expectedJson = jsonTypeOfFhir(fhirType);
  const observed = jsonTypeName(value);
  if (observed !== expectedJson) return { expected: expectedJson, observed };
  if (INTEGRAL.has(fhirType)) {
    const n = value as number;
    const min = fhirType === 'integer' ? -INT32_MAX - 1 : fhirType === 'positiveInt' ? 1 : 0;
    if (!Number.isInteger(n) || n < min || n > INT32_MAX) return { expected: fhirType, observed: 'number' };
  }
  const format = FORMATS[fhirType];
  if (format !== undefined && !format.test(value as string))
    return { expected: fhirType, observed: 'string' };
  return undefined;
}

const TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Normalises a literal reference to `Type/id`: drops the service base of an absolute URL and a
 * `/_history/<version>` suffix. Returns undefined for references that are not literal references
 * to a resource by id (contained `#x`, `urn:uuid:`, logical references). Split-based, not a
 * backtracking regex, because the input is untrusted.
 *
 * @see https://hl7.org/fhir/R4/references.html#literal
 */
export function normalizeReference(reference: string): string | undefined {
  let parts = reference.split('/');
  if (parts.length >= 4 && parts[parts.length - 2] === '_history') parts = parts.slice(0, -2);
  if (parts.length < 2) return undefined;
  if (parts.length > 2 && !/^https?:$/.test(parts[0] ?? '')) return undefined;
  const type = parts[parts.length - 2] ?? '';
  const id = parts[parts.length - 1] ?? '';
  if (!TYPE_NAME.test(type) || !ID.test(id)) return undefined;
  return `${type}/${id}`;
}

/** The resource type a normalised `Type/id` reference points at. */
export function referenceTypeOf(normalized: string): string {
  return normalized.slice(0, normalized.indexOf('/'));
}
