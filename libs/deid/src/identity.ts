/**
 * How identifiers are normalised before they are pseudonymised, so that one patient gets one
 * pseudonym whichever source or record the value comes from. The source id is deliberately not
 * part of any of these: linking across sites is the point.
 */

/** A FHIR resource identity: type and logical id. */
export interface ResourceIdentity {
  readonly type: string;
  readonly id: string;
}

const TYPE_NAME = /^[A-Z][A-Za-z]{1,63}$/;
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Reads a reference (`Patient/123`, `https://ehr.example/fhir/Patient/123/_history/2`) or a bare
 * logical id (`123`, then typed as `defaultType`) as a resource identity.
 *
 * @returns undefined when the text is neither.
 * @see https://hl7.org/fhir/R4/references.html#literal
 */
export function resourceIdentity(
  text: string,
  defaultType: string | undefined,
): ResourceIdentity | undefined {
  let parts = text.trim().split('/');
  if (parts.length >= 4 && parts[parts.length - 2] === '_history') parts = parts.slice(0, -2);
  if (parts.length === 1) {
    const id = parts[0] ?? '';
    return defaultType !== undefined && ID.test(id) ? { type: defaultType, id } : undefined;
  }
  const type = parts[parts.length - 2] ?? '';
  const id = parts[parts.length - 1] ?? '';
  return TYPE_NAME.test(type) && ID.test(id) ? { type, id } : undefined;
}

/**
 * Normalises a business identifier (MRN, SSN, account or member number): compatibility-folded,
 * upper-case, letters and digits only, so `000-00-0001`, `000 00 0001` and `000000001` agree.
 */
export function normalizeIdentifier(text: string): string {
  return text
    .normalize('NFKC')
    .toUpperCase()
    .replace(/[^\p{L}\p{N}]/gu, '');
}
