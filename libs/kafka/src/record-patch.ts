import { createRequire } from 'node:module';
import { onceKafkaJsSwap } from './module-swap.ts';

/**
 * Makes kafkajs 2.2.4 encode each produced record into one buffer of its exact size, and decode
 * each fetched record without 64-bit `Long` arithmetic (see `createRecordDecoder`: ~2 µs of CPU
 * per record stock, ~1 µs patched, in every consuming stage).
 *
 * Why: kafkajs' record encoder (`recordBatch/record/v0`) starts a fresh `Encoder` per record,
 * whose first buffer is a zero-filled 512-byte `Buffer.alloc`, grown and copied again for any
 * value over ~500 bytes; every header is an `Encoder` of its own; each varint is an array and a
 * `Buffer.from` of it; the timestamp delta goes through 64-bit `Long` objects, twice. Measured on
 * 500 records of 1.5 KB with a key and a header, that is 6–7.5 µs of CPU per record, against ~1
 * µs for the same bytes written here: sizes first, one `Buffer.allocUnsafe`, then the fields.
 * Every producing stage (extractor, validator, redactor, receivers) pays it once per record.
 *
 * The bytes are kafkajs' own (the unit tests compare them, case by case and over a batch). Anything
 * outside what the pipeline sends — a key, value or header value that is neither a string nor a
 * Buffer, deltas that are not small integers — goes to kafkajs' own encoder, so its behaviour
 * (including its errors) is unchanged there. kafkajs' produce request takes the function when it
 * loads (see `module-swap.ts`); too late or another version: kafkajs' own stays and the client
 * warns.
 *
 * @see https://kafka.apache.org/documentation/#record
 */

/** What kafkajs' record encoder takes (`recordBatch/record/v0/index.js`). */
export interface RecordFields {
  readonly offsetDelta?: number;
  readonly timestampDelta?: number;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: unknown;
}

/** kafkajs' record encoder: returns an `Encoder` holding the record's bytes. */
export type RecordEncoder = (fields: RecordFields) => object;

interface EncoderLike {
  buf: Buffer;
  offset: number;
}

/** Above this the deltas go to kafkajs (its int32 varint and 64-bit varlong arithmetic). */
const MAX_OFFSET_DELTA = 2 ** 30;
const MAX_TIMESTAMP_DELTA = 2 ** 51;

/**
 * A record encoder writing kafkajs' bytes into one exact-size buffer, falling back to `stock` for
 * input outside the common case. `Encoder` is kafkajs' class: the result is one of its instances,
 * as the record-batch encoder expects.
 */
export function createRecordEncoder(Encoder: { prototype: object }, stock: RecordEncoder): RecordEncoder {
  return function encodeRecord(fields: RecordFields): object {
    const { offsetDelta = 0, timestampDelta = 0, key, value, headers = {} } = fields;
    if (
      !Number.isInteger(offsetDelta) ||
      offsetDelta < 0 ||
      offsetDelta >= MAX_OFFSET_DELTA ||
      !Number.isInteger(timestampDelta) ||
      Math.abs(timestampDelta) > MAX_TIMESTAMP_DELTA ||
      !isBytes(key) ||
      !isBytes(value) ||
      typeof headers !== 'object' ||
      headers === null
    ) {
      return stock(fields);
    }
    // Header entries as kafkajs flattens them: each key once per value of an array.
    const headerEntries: (string | Buffer)[] = [];
    for (const name of Object.keys(headers)) {
      const entry = (headers as Record<string, unknown>)[name];
      const values = Array.isArray(entry) ? (entry as unknown[]) : [entry];
      for (const v of values) {
        // kafkajs measures a null header value before checking it (and throws): keep its path.
        if (!(typeof v === 'string' || Buffer.isBuffer(v))) return stock(fields);
        headerEntries.push(name, v);
      }
    }
    const keyBytes = byteLengthOf(key);
    const valueBytes = byteLengthOf(value);
    let body =
      1 + // attributes
      uvarintBytes(zigzag(timestampDelta)) +
      uvarintBytes(zigzag(offsetDelta)) +
      bytesFieldSize(keyBytes) +
      bytesFieldSize(valueBytes) +
      uvarintBytes(zigzag(headerEntries.length / 2));
    for (let i = 0; i < headerEntries.length; i += 2) {
      body +=
        bytesFieldSize(Buffer.byteLength(headerEntries[i] as string, 'utf8')) +
        bytesFieldSize(byteLengthOf(headerEntries[i + 1]));
    }
    const buf = Buffer.allocUnsafe(uvarintBytes(zigzag(body)) + body);
    let at = writeUVarInt(buf, 0, zigzag(body));
    buf[at++] = 0; // attributes: none used
    at = writeUVarInt(buf, at, zigzag(timestampDelta));
    at = writeUVarInt(buf, at, zigzag(offsetDelta));
    at = writeBytesField(buf, at, key, keyBytes);
    at = writeBytesField(buf, at, value, valueBytes);
    at = writeUVarInt(buf, at, zigzag(headerEntries.length / 2));
    for (let i = 0; i < headerEntries.length; i += 2) {
      const name = headerEntries[i] as string;
      at = writeBytesField(buf, at, name, Buffer.byteLength(name, 'utf8'));
      const v = headerEntries[i + 1];
      at = writeBytesField(buf, at, v, byteLengthOf(v));
    }
    const encoder = Object.create(Encoder.prototype) as EncoderLike;
    encoder.buf = buf;
    encoder.offset = at;
    return encoder;
  };
}

function isBytes(value: unknown): value is string | Buffer | null | undefined {
  return value === null || value === undefined || typeof value === 'string' || Buffer.isBuffer(value);
}

/** UTF-8 length of a string, length of a Buffer, -1 for null (Kafka's null bytes). */
function byteLengthOf(value: unknown): number {
  if (value === null || value === undefined) return -1;
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : (value as Buffer).length;
}

/** Zigzag of an integer of at most 52 bits, in double arithmetic (Kafka's varint and varlong). */
function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

function uvarintBytes(value: number): number {
  let bytes = 1;
  for (let v = value; v > 0x7f; v = Math.floor(v / 128)) bytes++;
  return bytes;
}

function bytesFieldSize(length: number): number {
  return uvarintBytes(zigzag(length)) + Math.max(length, 0);
}

function writeUVarInt(buf: Buffer, at: number, value: number): number {
  let v = value;
  let i = at;
  while (v > 0x7f) {
    buf[i++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[i++] = v;
  return i;
}

/** A varint length (-1 for null), then the bytes. */
function writeBytesField(buf: Buffer, at: number, value: unknown, length: number): number {
  let i = writeUVarInt(buf, at, zigzag(length));
  if (length <= 0) return i;
  if (typeof value === 'string') i += buf.write(value, i, length, 'utf8');
  else i += (value as Buffer).copy(buf, i);
  return i;
}

const ENCODER_TARGET = 'src/protocol/recordBatch/record/v0/index.js';
const DECODER_TARGET = 'src/protocol/recordBatch/record/v0/decoder.js';

/** kafkajs' own exports of the swapped modules, taken before the swap (fallbacks; tests compare). */
const kafkaJsOwn = new Map<string, unknown>();

function kafkaJsOwnOf<T>(target: string): T {
  if (!kafkaJsOwn.has(target)) kafkaJsOwn.set(target, createRequire(import.meta.url)(`kafkajs/${target}`));
  return kafkaJsOwn.get(target) as T;
}

/** kafkajs' own record encoder, as it was before the swap. */
export const kafkaJsRecordEncoder = (): RecordEncoder => kafkaJsOwnOf<RecordEncoder>(ENCODER_TARGET);

/** kafkajs' own record decoder, as it was before the swap. */
export const kafkaJsRecordDecoder = (): RecordDecoder => kafkaJsOwnOf<RecordDecoder>(DECODER_TARGET);

/** Applies the encoder patch once per process; returns what happened (the same on every call). */
export const patchKafkaJsRecordEncoder = onceKafkaJsSwap({
  target: ENCODER_TARGET,
  capturedBy: 'src/protocol/requests/produce/v3/request.js',
  replacement: () => {
    const require = createRequire(import.meta.url);
    const Encoder = require('kafkajs/src/protocol/encoder.js') as { prototype: object };
    return createRecordEncoder(Encoder, kafkaJsRecordEncoder());
  },
});

patchKafkaJsRecordEncoder();

/** kafkajs' `Decoder`, as far as a record decoder uses it. */
interface DecoderLike {
  buffer: Buffer;
  offset: number;
}

/** What kafkajs' record-batch decoder gives each record's decoder (`recordBatch/v0/decoder.js`). */
export interface BatchContext {
  readonly firstOffset?: string;
  readonly firstTimestamp?: string;
  readonly magicByte?: number;
  readonly isControlBatch?: boolean;
  readonly timestampType?: number;
  readonly maxTimestamp?: string;
}

/** kafkajs' record decoder: reads one record from a decoder over exactly its bytes. */
export type RecordDecoder = (decoder: DecoderLike, batchContext?: BatchContext) => object;

/** kafkajs' `TimestampTypes.LOG_APPEND_TIME`. */
const LOG_APPEND_TIME = 1;

/**
 * A record decoder giving kafkajs' result without its 64-bit `Long` arithmetic: kafkajs reads the
 * timestamp delta a byte at a time through `BigInt`-backed `Long` objects, parses the batch's
 * first offset and timestamp from strings for every record, and rebuilds the headers object once
 * per header. Here the varints are read as numbers and the offset and timestamp added in double
 * arithmetic where that is exact (every value below 2^53). Anything else — a varint longer than
 * the fast path reads, a batch offset or timestamp beyond 2^53, bytes past the record's end —
 * goes back to the record's start and through `stock`, so kafkajs' results and errors are kept.
 * One difference, on purpose: a header named after an `Object` method (see {@link addHeader}).
 */
export function createRecordDecoder(stock: RecordDecoder): RecordDecoder {
  return function decodeRecord(decoder: DecoderLike, batchContext: BatchContext = {}): object {
    const start = decoder.offset;
    const buf = decoder.buffer;
    const end = buf.length;
    const firstOffset = Number(batchContext.firstOffset);
    const firstTimestamp = Number(batchContext.firstTimestamp);
    if (start >= end || !Number.isSafeInteger(firstOffset) || !Number.isSafeInteger(firstTimestamp)) {
      return stock(decoder, batchContext);
    }
    const read = { at: start + 1, ok: true };
    const attributes = ((buf[start] as number) << 24) >> 24; // int8
    const timestampDelta = readVarLong(buf, end, read);
    const offsetDelta = readVarInt(buf, end, read);
    const key = readBytes(buf, end, read);
    const value = readBytes(buf, end, read);
    const headerCount = readVarInt(buf, end, read);
    const headers: Record<string, Buffer | Buffer[]> = {};
    for (let i = 0; read.ok && i < headerCount; i++) {
      const name = readBytes(buf, end, read);
      const headerValue = readBytes(buf, end, read);
      // A null name or value, or a name an assignment would take for the prototype: kafkajs' path.
      const text = name?.toString('utf8');
      if (text === undefined || text === '__proto__' || headerValue === null) read.ok = false;
      else addHeader(headers, text, headerValue);
    }
    const timestamp = firstTimestamp + timestampDelta;
    const offset = firstOffset + offsetDelta;
    if (!read.ok || headerCount < 0 || !Number.isSafeInteger(timestamp) || !Number.isSafeInteger(offset)) {
      decoder.offset = start;
      return stock(decoder, batchContext);
    }
    decoder.offset = read.at;
    const { magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
    return {
      magicByte,
      attributes,
      timestamp: timestampType === LOG_APPEND_TIME && maxTimestamp ? maxTimestamp : String(timestamp),
      offset: String(offset),
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  };
}

interface ReadState {
  at: number;
  ok: boolean;
}

/** A zigzag varint of at most 4 bytes (28 bits); longer or past the end: not ok. */
function readVarInt(buf: Buffer, end: number, read: ReadState): number {
  let result = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (read.at >= end) break;
    const byte = buf[read.at++] as number;
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) return (result >>> 1) ^ -(result & 1);
  }
  read.ok = false;
  return 0;
}

/** A zigzag varlong of at most 7 bytes (49 bits), in double arithmetic; else not ok. */
function readVarLong(buf: Buffer, end: number, read: ReadState): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (read.at >= end) break;
    const byte = buf[read.at++] as number;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result % 2 === 0 ? result / 2 : -(result + 1) / 2;
    scale *= 128;
  }
  read.ok = false;
  return 0;
}

/** A varint length and that many bytes (a view, as kafkajs' `slice`), or null for -1. */
function readBytes(buf: Buffer, end: number, read: ReadState): Buffer | null {
  const length = readVarInt(buf, end, read);
  if (!read.ok || length === -1) return null;
  if (length < -1 || read.at + length > end) {
    read.ok = false;
    return null;
  }
  const bytes = buf.subarray(read.at, read.at + length);
  read.at += length;
  return bytes;
}

/**
 * kafkajs' header reduction: a repeated name becomes an array of its values, in order. Only the
 * object's own names count as repeated: kafkajs reads `headers[name]` through the prototype, so a
 * first header named `constructor` or `toString` became an array holding an `Object` method.
 */
function addHeader(headers: Record<string, Buffer | Buffer[]>, name: string, value: Buffer): void {
  const current = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (current === undefined) headers[name] = value;
  else if (Array.isArray(current)) current.push(value);
  else headers[name] = [current, value];
}

/** Applies the decoder patch once per process; returns what happened (the same on every call). */
export const patchKafkaJsRecordDecoder = onceKafkaJsSwap({
  target: DECODER_TARGET,
  capturedBy: 'src/protocol/recordBatch/v0/decoder.js',
  replacement: () => createRecordDecoder(kafkaJsRecordDecoder()),
});

patchKafkaJsRecordDecoder();
