import type { Codec, Contract, RawEnvelope } from '@ehrflow/contracts';
import { readRange, type KafkaClient } from '@ehrflow/kafka';
import { isR4ResourceType } from '@ehrflow/fhir';
import { decryptPayload, type Keyring } from '@ehrflow/phi';
import { NOT_A_TYPE } from './validate-record.ts';

/**
 * Contract coverage of what a source sends: the FHIR elements present in its records that no
 * contract field carries, per resource type, with how many records had each. Element paths and
 * counts only, never a value. Elements a contract leaves out on purpose are declared in it (the
 * record attribute `dropped`: element path prefixes such as `text` or `code.coding.display`), so
 * the report shows only what is new.
 */
export interface CoverageReport {
  readonly source: string;
  readonly types: readonly TypeCoverage[];
}

export interface TypeCoverage {
  readonly resourceType: string;
  /** Records of the source read for this type. */
  readonly records: number;
  /** Elements no contract field carries, most frequent first. */
  readonly uncovered: readonly { readonly path: string; readonly records: number }[];
  /** Whether a contract exists for the type at all. */
  readonly contracted: boolean;
}

/**
 * The leaf element paths of a resource (`code.coding.system`, `component.valueQuantity.value`):
 * arrays are flattened as in FHIRPath, objects descended into, `resourceType` skipped. Each path
 * once per resource.
 */
export function elementPaths(resource: Readonly<Record<string, unknown>>): Set<string> {
  const out = new Set<string>();
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      for (const item of value) walk(item, path);
      return;
    }
    if (value !== null && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        // Keys are element names; one that is not (a value used as a key) is never echoed.
        const name = ELEMENT_NAME.test(key) ? key : '(not an element name)';
        walk(child, path === '' ? name : `${path}.${name}`);
      }
      return;
    }
    if (path !== '' && value !== null && value !== undefined) out.add(path);
  };
  for (const [key, value] of Object.entries(resource)) if (key !== 'resourceType') walk(value, key);
  return out;
}

const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** A contract `fhirPath` as the element path it reads: `identifier.where(x='y').value.first()` → `identifier.value`. */
export function elementPathOf(fhirPath: string): string {
  return fhirPath
    .replace(/\.where\((?:[^()']|'(?:[^'\\]|\\.)*')*\)/g, '')
    .replace(/\.first\(\)/g, '')
    .replace(/\[\d+\]/g, '');
}

/** The element paths a contract carries (fields, the items of array-of-records fields) and the prefixes it drops. */
export function carriedBy(contract: Contract): { carried: Set<string>; dropped: readonly string[] } {
  const carried = new Set<string>();
  const byPath = new Map(contract.fields.map((f) => [f.path, f]));
  for (const field of contract.fields) {
    if (field.fhirPath === undefined) continue;
    const cut = field.path.lastIndexOf('[].');
    const parent = cut < 0 ? undefined : byPath.get(field.path.slice(0, cut));
    const prefix = parent?.fhirPath === undefined ? '' : `${elementPathOf(parent.fhirPath)}.`;
    carried.add(prefix + elementPathOf(field.fhirPath));
  }
  const dropped = Array.isArray(contract.attrs.dropped)
    ? contract.attrs.dropped.filter((p): p is string => typeof p === 'string')
    : [];
  return { carried, dropped };
}

function isCovered(path: string, carried: ReadonlySet<string>, dropped: readonly string[]): boolean {
  if (carried.has(path)) return true;
  return dropped.some((p) => path === p || path.startsWith(`${p}.`));
}

/**
 * Reads the raw topic to its end (decrypting each payload of the source in memory only), and
 * counts per type the elements the contracts do not carry.
 */
export async function coverageOf(
  deps: {
    readonly kafka: KafkaClient;
    readonly codec: Codec;
    readonly keyring: Keyring;
    /** The contract of each contracted type (latest registered). */
    readonly contracts: ReadonlyMap<string, Contract>;
  },
  options: { readonly source: string; readonly rawTopic: string; readonly sinceMs?: number },
): Promise<CoverageReport> {
  const records = new Map<string, number>();
  const counts = new Map<string, Map<string, number>>();
  const carried = new Map([...deps.contracts].map(([type, c]) => [type, carriedBy(c)]));
  await readRange(deps.kafka, options.rawTopic, async (messages) => {
    for (const { message } of messages) {
      if (message.value === null) continue;
      const { value: envelope } = await deps.codec.decode<RawEnvelope>(message.value);
      if (
        envelope.sourceId !== options.source ||
        envelope.kind !== 'UPSERT' ||
        envelope.format !== 'FHIR_JSON'
      )
        continue;
      if (options.sinceMs !== undefined && envelope.extractedAt < options.sinceMs) continue;
      let resource: unknown;
      try {
        resource = JSON.parse(decryptPayload(deps.keyring, envelope.payload).toString('utf8'));
      } catch {
        continue; // counted by the validator as decrypt_failed / parse_error
      }
      if (resource === null || typeof resource !== 'object' || Array.isArray(resource)) continue;
      // The envelope's type comes from the record: a name that is no R4 type is never repeated.
      const type = isR4ResourceType(envelope.resourceType) ? envelope.resourceType : NOT_A_TYPE;
      records.set(type, (records.get(type) ?? 0) + 1);
      const byPath = counts.get(type) ?? new Map<string, number>();
      counts.set(type, byPath);
      const contract = carried.get(type);
      for (const path of elementPaths(resource as Record<string, unknown>)) {
        if (contract !== undefined && isCovered(path, contract.carried, contract.dropped)) continue;
        byPath.set(path, (byPath.get(path) ?? 0) + 1);
      }
    }
  });
  const types = [...records.keys()].sort().map((type): TypeCoverage => ({
    resourceType: type,
    records: records.get(type) ?? 0,
    contracted: deps.contracts.has(type),
    uncovered: [...(counts.get(type) ?? new Map<string, number>())]
      .map(([path, n]) => ({ path, records: n }))
      .sort((a, b) => b.records - a.records || a.path.localeCompare(b.path)),
  }));
  return { source: options.source, types };
}
