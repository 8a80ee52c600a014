import { PipelineError, isPipelineError, isProgrammerError } from '@ehrflow/errors';

/**
 * How record values become bytes and back. This package does not know Avro: services inject the
 * registry-backed codec of `@ehrflow/contracts` (Confluent framing), tests inject a small fake.
 *
 * A codec reports a value that breaks its subject's schema as a `PipelineError` of class
 * `contract` (normally `SCHEMA_MISMATCH`), and registry trouble as a transient one.
 */
export interface Codec {
  encode(subject: string, value: unknown): Promise<Buffer>;
  decode(buf: Buffer): Promise<{ value: unknown; schemaId: number }>;
}

/**
 * The subject of a topic's value schema (Confluent TopicNameStrategy).
 * @see https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#subject-name-strategy
 */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

/**
 * Encodes one value for `topic`. A contract failure is re-thrown with the message's index in the
 * caller's list (so the caller can quarantine exactly that message). Errors that are not
 * `PipelineError`s are not trusted to be PHI-free (schema libraries quote the offending value), so
 * only their name is kept.
 */
export async function encodeValue(
  codec: Codec,
  topic: string,
  value: unknown,
  index: number,
): Promise<Buffer> {
  try {
    return await codec.encode(valueSubject(topic), value);
  } catch (err) {
    if (isProgrammerError(err)) throw err;
    if (isPipelineError(err)) {
      if (err.errorClass !== 'contract') throw err;
      throw new PipelineError(err.code, `Message ${index} for topic ${topic} does not match its schema`, {
        cause: err,
        context: { ...err.context, topic, index },
      });
    }
    throw new PipelineError('SCHEMA_MISMATCH', `Message ${index} for topic ${topic} could not be encoded`, {
      context: { topic, index, codecError: err instanceof Error ? err.name : typeof err },
    });
  }
}

/**
 * Decodes one Kafka value. Returns the failure instead of throwing when the bytes are not a valid
 * record (the caller routes it, it is never dropped); throws only transient or programmer errors,
 * which make the whole batch retry.
 */
export async function decodeValue(
  codec: Codec,
  buf: Buffer | null,
  where: { readonly topic: string; readonly partition: number; readonly offset: string },
): Promise<{ value: unknown; schemaId: number } | PipelineError> {
  if (buf === null) {
    return new PipelineError('PARSE_ERROR', 'Record has no value (tombstone)', { context: { ...where } });
  }
  try {
    return await codec.decode(buf);
  } catch (err) {
    if (isProgrammerError(err)) throw err;
    if (isPipelineError(err)) {
      if (err.retryable) throw err;
      return new PipelineError(
        err.code,
        `Record at ${where.topic}/${where.partition}@${where.offset} could not be decoded`,
        {
          cause: err,
          context: { ...err.context, ...where },
        },
      );
    }
    return new PipelineError(
      'PARSE_ERROR',
      `Record at ${where.topic}/${where.partition}@${where.offset} could not be decoded`,
      {
        context: { ...where, codecError: err instanceof Error ? err.name : typeof err },
      },
    );
  }
}
