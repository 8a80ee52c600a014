import { isJsonObject, jsonTypeName } from './fhir-values.ts';
import type { Issue } from './issues.ts';
import { elementsOf, isPrimitiveType, type ElementInfo } from './r4-model.ts';

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
  // The element maps are looked up once per type, not once per property.
  const elements = elementsOf(resourceType);
  for (const key of Object.keys(resource)) {
    if (key === 'resourceType') continue;
    const value = resource[key];
    if (!isKnown(elements, key)) {
      issues.push({
        kind: 'unexpected_field',
        path: `${resourceType}.${shownName(key)}`,
        observed: jsonTypeName(value),
      });
      continue;
    }
    const element = elements?.get(key);
    if (element === undefined || isPrimitiveType(element.type)) continue;
    const children = elementsOf(element.type);
    if (children === undefined) continue;
    if (Array.isArray(value)) {
      for (const item of value as readonly unknown[])
        checkChildren(item, children, resourceType, key, issues);
    } else {
      checkChildren(value, children, resourceType, key, issues);
    }
  }
  return issues;
}

function checkChildren(
  item: unknown,
  children: ReadonlyMap<string, ElementInfo>,
  resourceType: string,
  key: string,
  issues: Issue[],
): void {
  if (!isJsonObject(item)) return; // a shape problem, reported by the mapping of the field
  for (const childKey of Object.keys(item)) {
    if (isKnown(children, childKey)) continue;
    issues.push({
      kind: 'unexpected_field',
      path: `${resourceType}.${key}.${shownName(childKey)}`,
      observed: jsonTypeName(item[childKey]),
    });
  }
}

function isKnown(elements: ReadonlyMap<string, ElementInfo> | undefined, key: string): boolean {
  if (elements === undefined) return false;
  if (key.charCodeAt(0) === 0x5f) {
    // `_name`: the id and extensions of primitive element `name`.
    const element = elements.get(key.slice(1));
    return element !== undefined && isPrimitiveType(element.type);
  }
  return elements.has(key);
}

/** FHIR element names are camelCase ASCII; anything else may be data and is not echoed. */
const ELEMENT_NAME = /^_?[a-z][A-Za-z0-9]{0,63}$/;

function shownName(key: string): string {
  return ELEMENT_NAME.test(key) ? key : '(non-element name)';
}
