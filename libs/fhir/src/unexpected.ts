import { isJsonObject, jsonTypeName } from './fhir-values.ts';
import type { Issue } from './issues.ts';
import { childOf, isDescribedType, isPrimitiveType } from './r4-model.ts';

/**
 * Finds properties of a resource that FHIR R4 does not define for its type: at the top level, and
 * one level into complex elements the model describes (`Patient.name.nickname`). A primitive's
 * `_name` companion (id and extensions of a primitive) is accepted when `name` is a primitive
 * element. Paths carry no array indexes, so one drifted property in 50 items is one issue.
 * A property name is reported only when it is shaped like a FHIR element name (camelCase
 * letters and digits): a broken source can turn values into keys (a map keyed by MRN), and
 * those must not leave in a drift event.
 *
 * @see https://hl7.org/fhir/R4/json.html#primitive
 */
export function findUnexpectedFields(
  resource: Readonly<Record<string, unknown>>,
  resourceType: string,
): Issue[] {
  const issues: Issue[] = [];
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'resourceType') continue;
    if (!isKnown(resourceType, key)) {
      issues.push({
        kind: 'unexpected_field',
        path: `${resourceType}.${shownName(key)}`,
        observed: jsonTypeName(value),
      });
      continue;
    }
    const element = childOf(resourceType, key);
    if (element === undefined || isPrimitiveType(element.type) || !isDescribedType(element.type)) continue;
    const items: readonly unknown[] = Array.isArray(value) ? value : [value];
    for (const item of items) {
      if (!isJsonObject(item)) continue; // a shape problem, reported by the mapping of the field
      for (const [childKey, childValue] of Object.entries(item)) {
        if (isKnown(element.type, childKey)) continue;
        issues.push({
          kind: 'unexpected_field',
          path: `${resourceType}.${key}.${shownName(childKey)}`,
          observed: jsonTypeName(childValue),
        });
      }
    }
  }
  return issues;
}

function isKnown(type: string, key: string): boolean {
  if (key.startsWith('_')) {
    const element = childOf(type, key.slice(1));
    return element !== undefined && isPrimitiveType(element.type);
  }
  return childOf(type, key) !== undefined;
}

/** FHIR element names are camelCase ASCII; anything else may be data and is not echoed. */
const ELEMENT_NAME = /^_?[a-z][A-Za-z0-9]{0,63}$/;

function shownName(key: string): string {
  return ELEMENT_NAME.test(key) ? key : '(non-element name)';
}
