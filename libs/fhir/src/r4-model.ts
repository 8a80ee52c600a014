/**
 * The FHIR R4 element model: the elements of every resource type, data type and backbone element,
 * with cardinality and choice types, generated from the official R4 StructureDefinitions by
 * r4-gen.ts into generated/r4-elements.json. It lets us check `fhirPath` attributes when a
 * contract loads and spot unexpected (drifted) properties in a resource, for any R4 type, so a new
 * contract needs no hand-written model.
 *
 * Notation of a table: `'T'` is 0..1 or 1..1 of type T, `'*T'` is 0..*, and a choice element
 * `name[x]` lists its allowed types as `'T1|T2'`. A backbone element's type is its path
 * (`Observation.component`), which has a table of its own.
 *
 * @see https://hl7.org/fhir/R4/resourcelist.html
 * @see https://hl7.org/fhir/R4/datatypes.html
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Element name → type spec, in the notation above. */
export type ElementTable = Readonly<Record<string, string>>;

/** The content of generated/r4-elements.json. */
export interface R4Model {
  readonly source: string;
  readonly resourceTypes: readonly string[];
  readonly primitiveTypes: readonly string[];
  /** Per resource type, its elements (inherited ones included). */
  readonly resources: Readonly<Record<string, ElementTable>>;
  /** Per complex data type and backbone element (by path), its elements. */
  readonly types: Readonly<Record<string, ElementTable>>;
}

const MODEL = JSON.parse(
  readFileSync(join(import.meta.dirname, 'generated', 'r4-elements.json'), 'utf8'),
) as R4Model;

/** Every FHIR R4 resource type (not abstract). */
export const FHIR_RESOURCE_TYPES: readonly string[] = MODEL.resourceTypes;

/** A FHIR R4 resource type name. */
export type FhirResourceType = string;

const RESOURCE_TYPE_SET = new Set(FHIR_RESOURCE_TYPES);
const PRIMITIVE_TYPES = new Set(MODEL.primitiveTypes);

/** What the model knows about one element as it appears in JSON. */
export interface ElementInfo {
  /** FHIR type name (`date`, `CodeableConcept`, `Patient.communication`, ...). */
  readonly type: string;
  /** 0..* elements are JSON arrays. */
  readonly array: boolean;
  /** The element name in the definition (`value[x]` for `valueQuantity`). */
  readonly definition: string;
}

/** Whether `name` is an R4 resource type. */
export function isFhirResourceType(name: string): name is FhirResourceType {
  return RESOURCE_TYPE_SET.has(name);
}

export function isPrimitiveType(type: string): boolean {
  return PRIMITIVE_TYPES.has(type);
}

/** Whether the model lists the children of `type` (a resource, data type or described backbone). */
export function isDescribedType(type: string): boolean {
  return tableOf(type) !== undefined;
}

/** The element `name` (a JSON property name) of `type`, or undefined when `type` has no such element. */
export function childOf(type: string, name: string): ElementInfo | undefined {
  return INDEX.get(type)?.get(name);
}

/** Every element of `type` by JSON property name, or undefined when the model does not describe `type`. */
export function elementsOf(type: string): ReadonlyMap<string, ElementInfo> | undefined {
  return INDEX.get(type);
}

/** The allowed types of choice element `base[x]` of `type`, or undefined when there is none. */
export function choiceTypesOf(type: string, base: string): readonly string[] | undefined {
  return TABLES.get(type)?.[`${base}[x]`]?.split('|');
}

/** JSON property suffix of a choice type: `Quantity` → `Quantity`, `dateTime` → `DateTime`. */
export function choiceSuffix(type: string): string {
  return type.charAt(0).toUpperCase() + type.slice(1);
}

function tableOf(type: string): ElementTable | undefined {
  return TABLES.get(type);
}

function buildTables(): Map<string, ElementTable> {
  return new Map([...Object.entries(MODEL.types), ...Object.entries(MODEL.resources)]);
}

/** Per type, JSON property name → element, with every choice element expanded to its typed names. */
function buildIndex(tables: ReadonlyMap<string, ElementTable>): Map<string, Map<string, ElementInfo>> {
  const index = new Map<string, Map<string, ElementInfo>>();
  for (const [type, table] of tables) {
    const elements = new Map<string, ElementInfo>();
    for (const [key, spec] of Object.entries(table)) {
      if (key.endsWith('[x]')) {
        const base = key.slice(0, -3);
        for (const choice of spec.split('|')) {
          elements.set(base + choiceSuffix(choice), { type: choice, array: false, definition: key });
        }
      } else {
        const array = spec.startsWith('*');
        elements.set(key, { type: array ? spec.slice(1) : spec, array, definition: key });
      }
    }
    index.set(type, elements);
  }
  return index;
}

const TABLES = buildTables();
const INDEX = buildIndex(TABLES);
