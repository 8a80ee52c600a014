import type { PipelineError } from '@ehrflow/errors';
import type { IHeaders, Message } from 'kafkajs';

/** Headers as this package exposes them: UTF-8 strings (Kafka allows repeats; the first wins). */
export type RecordHeaders = Readonly<Record<string, string>>;

/** Where a consumed record sits in Kafka; enough to find it again, nothing of its content. */
export interface RecordPosition {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

interface RecordMeta extends RecordPosition {
  /** The Kafka key (a pseudonym in this product, never PHI), or null. */
  readonly key: string | null;
  readonly headers: RecordHeaders;
  /** Broker or producer timestamp, epoch milliseconds. */
  readonly timestamp: number;
}

/** A record whose value the codec decoded. */
export interface DecodedRecord extends RecordMeta {
  readonly value: unknown;
  readonly schemaId: number;
  readonly decodeError?: undefined;
}

/**
 * A record the codec could not decode. It is handed to the handler like any other so the service
 * can quarantine it (with `raw`); the runner never drops it.
 */
export interface UndecodableRecord extends RecordMeta {
  readonly value?: undefined;
  readonly decodeError: PipelineError;
  /** The undecoded value bytes (null for a tombstone). */
  readonly raw: Buffer | null;
}

/** What a batch handler receives, in offset order per partition. */
export type InputRecord = DecodedRecord | UndecodableRecord;

/** One message to produce to a topic; `value` is a plain object, encoded by the codec. */
export interface OutgoingMessage {
  readonly key: string;
  readonly value: object;
  readonly headers?: RecordHeaders;
}

/** What a batch handler returns: messages for any topics, produced before offsets advance. */
export interface Output extends OutgoingMessage {
  readonly topic: string;
}

/** Converts kafkajs headers (Buffer, string or arrays of them) into UTF-8 strings. */
export function readHeaders(headers: IHeaders | undefined): RecordHeaders {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [name, raw] of Object.entries(headers)) {
    const first = Array.isArray(raw) ? raw[0] : raw;
    if (first === undefined) continue;
    out[name] = typeof first === 'string' ? first : first.toString('utf8');
  }
  return out;
}

/** The kafkajs message for an already encoded value. */
export function toKafkaMessage(message: OutgoingMessage, value: Buffer): Message {
  return { key: message.key, value, ...(message.headers ? { headers: { ...message.headers } } : {}) };
}
