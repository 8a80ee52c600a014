/**
 * Synthetic clean records of a derived clean schema (Observation by default), for the loader
 * benchmarks: every field filled from its Avro type, strings padded so a record is ~1.5 KB.
 */

/** The JSON of an Avro record schema, as `cleanSchemaFromContract` returns it. */
export type SchemaJson = {
  readonly fields: readonly { readonly name: string; readonly type: unknown }[];
};

interface NamedType {
  readonly type: string;
  readonly name?: string;
  readonly fields?: SchemaJson['fields'];
  readonly items?: unknown;
  readonly symbols?: readonly string[];
}

/** Record `i` at `version` of `schema`, with the head fields the loader keys and orders by. */
export function cleanRecord(schema: SchemaJson, i: number, version = 1): Record<string, unknown> {
  const named = new Map<string, NamedType>();
  return {
    ...recordValue(schema.fields, named, i, version, 0),
    recordId: `rec-${i}-${version}`,
    jobId: 'bench-job',
    sourceId: `site-${i % 3}`,
    logicalId: `obs-${i}`,
    versionId: String(version),
    lastUpdated: new Date(Date.UTC(2024, 0, 1) + version * 60_000).toISOString(),
  };
}

function recordValue(
  fields: SchemaJson['fields'],
  named: Map<string, NamedType>,
  i: number,
  version: number,
  depth: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f.name] = value(f.name, f.type, named, i, version, depth);
  return out;
}

function value(
  name: string,
  type: unknown,
  named: Map<string, NamedType>,
  i: number,
  version: number,
  depth: number,
): unknown {
  // A union takes its first branch that is not null.
  const t = Array.isArray(type) ? (type as unknown[]).find((b) => b !== 'null') : type;
  if (typeof t === 'string') {
    const ref = named.get(t);
    if (ref !== undefined) return value(name, ref, named, i, version, depth);
    switch (t) {
      case 'int':
        return i % 1000;
      case 'long':
        return i;
      case 'double':
      case 'float':
        return (i % 1000) / 7;
      case 'boolean':
        return i % 2 === 0;
      default:
        // Padded at the top level only: nested records stay short, as codes and references are.
        return depth === 0 ? `${name}-${i}-${version}-${'x'.repeat(24)}` : `${name}-${i}`;
    }
  }
  const n = t as NamedType;
  if (n.name !== undefined) named.set(n.name, n);
  switch (n.type) {
    case 'array':
      return typeof n.items === 'string' && !named.has(n.items)
        ? [`code-${i % 17}`, `code-${i % 5}`]
        : [
            value(name, n.items, named, i % 17, version, depth + 1),
            value(name, n.items, named, i % 5, version, depth + 1),
          ];
    case 'record':
      return recordValue(n.fields ?? [], named, i, version, depth + 1);
    case 'enum':
      return n.symbols?.[0];
    default:
      // A primitive with a logical type: the value of its underlying type.
      return value(name, n.type, named, i, version, depth);
  }
}
