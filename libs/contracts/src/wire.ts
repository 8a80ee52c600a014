import { PipelineError } from '@ehrflow/errors';

/** First byte of every Confluent-framed message. */
export const MAGIC_BYTE = 0;
/** Magic byte plus the 4-byte schema id. */
export const HEADER_BYTES = 5;

/**
 * Frames an Avro binary payload the Confluent way: magic byte 0, the schema id as a 4-byte
 * big-endian integer, then the payload.
 *
 * @see https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */
export function frame(schemaId: number, payload: Buffer): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffffffff) {
    throw new RangeError(`schema id out of range: ${schemaId}`);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, payload]);
}

/**
 * Splits a Confluent-framed message into its schema id and Avro payload.
 *
 * @throws PipelineError PARSE_ERROR when the buffer is too short or the magic byte is not 0.
 */
export function unframe(buf: Buffer): { schemaId: number; payload: Buffer } {
  if (buf.length < HEADER_BYTES) {
    throw new PipelineError(
      'PARSE_ERROR',
      `message of ${buf.length} bytes is too short for a Confluent frame`,
      {
        context: { bytes: buf.length },
      },
    );
  }
  const magic = buf.readUInt8(0);
  if (magic !== MAGIC_BYTE) {
    throw new PipelineError(
      'PARSE_ERROR',
      `message is not Confluent-framed: magic byte ${magic}, expected ${MAGIC_BYTE}`,
      {
        context: { magicByte: magic },
      },
    );
  }
  return { schemaId: buf.readUInt32BE(1), payload: buf.subarray(HEADER_BYTES) };
}
