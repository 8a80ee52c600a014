import { PipelineError } from '@ehrflow/errors';
import type { AvroType } from './avro.ts';
import type { RegisteredSchema, SchemaRegistry } from './registry.ts';
import { describeProblems, findValueProblems } from './validate.ts';
import { HEADER_BYTES, MAGIC_BYTE, unframe } from './wire.ts';

export interface CodecOptions {
  /**
   * How long the latest version of a subject is used before it is looked up again, in ms. After
   * that the cached version keeps serving while one background lookup runs, so a newly
   * registered version is picked up without a restart and a registry outage never blocks
   * encoding of a subject already known. Default 30 000.
   */
  readonly refreshMs?: number;
  /** Accept object keys the schema does not declare (they are dropped). Default false: refused. */
  readonly allowUndeclaredFields?: boolean;
  /** Told about a failed background refresh (the stale version stays in use). */
  readonly onRefreshError?: (err: unknown, subject: string) => void;
  /** Clock, for tests. */
  readonly now?: () => number;
}

export interface DecodedRecord<T = unknown> {
  readonly value: T;
  readonly schemaId: number;
  /** The subject and version of the writer schema, when the registry can tell. */
  readonly subject?: string;
  readonly version?: number;
}

/**
 * Confluent-framed Avro encoding against the registry. Never registers a schema: producers write
 * only with what is registered, and a value that does not match it is refused.
 */
export interface Codec {
  /**
   * Encodes a value with the latest registered version of a subject.
   *
   * @throws PipelineError SCHEMA_MISMATCH when the value does not match; the message names the
   *   subject, version, field paths and expected types, never a value.
   * @throws PipelineError SCHEMA_NOT_REGISTERED / REGISTRY_UNAVAILABLE on the first lookup of a subject.
   */
  encode(subject: string, value: unknown): Promise<Buffer>;
  /**
   * Decodes a Confluent-framed message with its writer schema (looked up by id once, then cached).
   *
   * @throws PipelineError PARSE_ERROR when the frame or the Avro payload is malformed.
   * @throws PipelineError SCHEMA_NOT_REGISTERED when the id is unknown.
   */
  decode<T = unknown>(buf: Buffer): Promise<DecodedRecord<T>>;
  /** The latest registered version of a subject as the codec uses it (cached like `encode`). */
  latestVersion(subject: string): Promise<RegisteredSchema>;
}

interface SubjectEntry {
  schema: RegisteredSchema;
  fetchedAt: number;
  refreshing: boolean;
}

interface WriterEntry {
  readonly schema: AvroType;
  readonly subject: string | undefined;
  readonly version: number | undefined;
}

/** Creates a codec over a registry client. */
export function createCodec(registry: SchemaRegistry, options: CodecOptions = {}): Codec {
  const refreshMs = options.refreshMs ?? 30_000;
  const allowUndeclaredFields = options.allowUndeclaredFields === true;
  const now = options.now ?? Date.now;
  const subjects = new Map<string, SubjectEntry>();
  const firstLookups = new Map<string, Promise<SubjectEntry>>();
  const writers = new Map<number, Promise<WriterEntry>>();

  async function latestVersion(subject: string): Promise<RegisteredSchema> {
    const entry = subjects.get(subject);
    if (entry === undefined) return (await firstLookup(subject)).schema;
    if (now() - entry.fetchedAt >= refreshMs && !entry.refreshing) refresh(subject, entry);
    return entry.schema;
  }

  function firstLookup(subject: string): Promise<SubjectEntry> {
    let pending = firstLookups.get(subject);
    if (pending === undefined) {
      pending = registry
        .latest(subject)
        .then((schema) => {
          const entry = { schema, fetchedAt: now(), refreshing: false };
          subjects.set(subject, entry);
          return entry;
        })
        .finally(() => firstLookups.delete(subject));
      firstLookups.set(subject, pending);
    }
    return pending;
  }

  function refresh(subject: string, entry: SubjectEntry): void {
    entry.refreshing = true;
    registry
      .latest(subject)
      .then((schema) => {
        entry.schema = schema;
      })
      .catch((err: unknown) => options.onRefreshError?.(err, subject))
      .finally(() => {
        // Also after a failure: wait a full period before asking an unwell registry again.
        entry.fetchedAt = now();
        entry.refreshing = false;
      });
  }

  // avsc's toBuffer encodes into a shared 1 KiB buffer that never grows, so it writes every larger
  // value twice (a record with a dozen encrypted fields is ~2 KB), and frame() copies it once more.
  // Encoding straight after the header into a scratch buffer that grows writes it once; like avsc's
  // own buffer, it holds the last encoded bytes until the next encode.
  let scratch = Buffer.allocUnsafe(4096);
  function encodeFramed(type: AvroType, schemaId: number, value: unknown): Buffer {
    let end = type.encode(value, scratch, HEADER_BYTES);
    if (end < 0) {
      // A negative result is the number of bytes missing.
      scratch = Buffer.allocUnsafe(Math.max(2 * scratch.length, scratch.length - end));
      end = type.encode(value, scratch, HEADER_BYTES);
    }
    const framed = Buffer.allocUnsafe(end);
    scratch.copy(framed, 0, 0, end);
    framed[0] = MAGIC_BYTE;
    framed.writeUInt32BE(schemaId, 1);
    return framed;
  }

  function writer(id: number): Promise<WriterEntry> {
    let pending = writers.get(id);
    if (pending === undefined) {
      pending = Promise.all([registry.byId(id), registry.subjectVersionsOf(id).catch(() => [])]).then(
        ([s, uses]) => {
          const use = uses[0];
          return { schema: s.schema, subject: use?.subject, version: use?.version };
        },
      );
      // Failures are not cached: the next message asks again.
      pending.catch(() => writers.delete(id));
      writers.set(id, pending);
    }
    return pending;
  }

  return {
    latestVersion,

    async encode(subject, value) {
      const latest = await latestVersion(subject);
      // One pass of avsc's compiled check decides; the slower walk that names every problem runs
      // only for a value that fails it (same verdict: types, then undeclared keys unless allowed).
      const problems = latest.schema.isValid(value, { noUndeclaredFields: !allowUndeclaredFields })
        ? []
        : findValueProblems(latest.schema, value, { allowUndeclaredFields });
      if (problems.length > 0) {
        const where = `${subject} v${latest.version} (schema id ${latest.id})`;
        throw new PipelineError(
          'SCHEMA_MISMATCH',
          `value does not match ${where}: ${describeProblems(problems)}`,
          {
            context: {
              subject,
              version: latest.version,
              schemaId: latest.id,
              fieldPath: problems[0]?.path,
              problems: problems.length,
            },
          },
        );
      }
      if (!Number.isInteger(latest.id) || latest.id < 0 || latest.id > 0xffffffff) {
        throw new RangeError(`schema id out of range: ${latest.id}`);
      }
      try {
        return encodeFramed(latest.schema, latest.id, value);
      } catch {
        const where = `${subject} v${latest.version} (schema id ${latest.id})`;
        // avsc's own message quotes the value; ours does not, and the cause is left off on purpose.
        throw new PipelineError('SCHEMA_MISMATCH', `value could not be encoded with ${where}`, {
          context: { subject, version: latest.version, schemaId: latest.id },
        });
      }
    },

    async decode<T>(buf: Buffer): Promise<DecodedRecord<T>> {
      const { schemaId, payload } = unframe(buf);
      const w = await writer(schemaId);
      let value: T;
      try {
        value = w.schema.fromBuffer(payload) as T;
      } catch {
        throw new PipelineError(
          'PARSE_ERROR',
          `Avro payload does not decode with its writer schema id ${schemaId}`,
          {
            context: { schemaId, subject: w.subject, version: w.version },
          },
        );
      }
      return { value, schemaId, subject: w.subject, version: w.version };
    },
  };
}
