import type { AvroType } from './avro.ts';

/**
 * Compatibility levels of a Confluent-compatible registry subject.
 *
 * @see https://docs.confluent.io/platform/current/schema-registry/fundamentals/schema-evolution.html
 */
export const COMPATIBILITY_LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;

export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];

/** Direction a change can break: new readers on old data (BACKWARD), old readers on new data (FORWARD). */
/**
 * Avro's two directions, plus `CONTRACT`: a rule of the data contract on top of Avro that holds at
 * every level — a field the contract marks `required` may not be removed, because consumers rely on
 * it being there even where Avro schema resolution would let readers fall back to nothing.
 */
export type CompatibilityDirection = 'BACKWARD' | 'FORWARD' | 'CONTRACT';

/** The level the product uses when a subject's manifest entry names none. */
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD_TRANSITIVE';

export interface CompatibilityVerdict {
  readonly compatible: boolean;
  /** Why not, one line per broken (direction, version) pair; type and field names only. */
  readonly messages: readonly string[];
}

/** A previously registered version of a subject, for local evaluation. */
export interface VersionedType {
  readonly version: number;
  readonly type: AvroType;
}

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/** Directions a level checks. */
export function directionsOf(level: CompatibilityLevel): readonly CompatibilityDirection[] {
  switch (level) {
    case 'NONE':
      return [];
    case 'BACKWARD':
    case 'BACKWARD_TRANSITIVE':
      return ['BACKWARD'];
    case 'FORWARD':
    case 'FORWARD_TRANSITIVE':
      return ['FORWARD'];
    case 'FULL':
    case 'FULL_TRANSITIVE':
      return ['BACKWARD', 'FORWARD'];
  }
}

export function isTransitive(level: CompatibilityLevel): boolean {
  return level.endsWith('_TRANSITIVE');
}

/**
 * Whether `reader` can read data written with `writer` under Avro schema resolution.
 *
 * @returns undefined when it can; otherwise avsc's reason (type and field names, no values).
 * @see https://avro.apache.org/docs/1.11.1/specification/#schema-resolution
 */
export function resolutionProblem(reader: AvroType, writer: AvroType): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Evaluates locally, with avsc schema resolution, whether a candidate schema may be registered
 * after the given versions under a level: BACKWARD means the candidate reads data of the checked
 * versions; FORWARD means the checked versions read data of the candidate; transitive levels check
 * every version, the others only the latest. This is what a Confluent-compatible registry does;
 * it lets `check` explain a verdict even when the registry answers only yes or no.
 *
 * @param previous registered versions, in any order.
 */
export function evaluateCompatibility(
  candidate: AvroType,
  previous: readonly VersionedType[],
  level: CompatibilityLevel,
): CompatibilityVerdict {
  const sorted = [...previous].sort((a, b) => a.version - b.version);
  const checked = isTransitive(level) ? sorted : sorted.slice(-1);
  const messages: string[] = [];
  for (const direction of directionsOf(level)) {
    for (const prev of checked) {
      const problem =
        direction === 'BACKWARD'
          ? resolutionProblem(candidate, prev.type)
          : resolutionProblem(prev.type, candidate);
      if (problem !== undefined) {
        const who =
          direction === 'BACKWARD'
            ? `the new schema cannot read data written with v${prev.version}`
            : `readers on v${prev.version} cannot read data written with the new schema`;
        messages.push(`${direction}: ${who}: ${problem}`);
      }
    }
  }
  return { compatible: messages.length === 0, messages };
}
