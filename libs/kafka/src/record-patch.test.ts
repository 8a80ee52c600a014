// The patch must load before kafkajs' produce request, as `@ehrflow/kafka`'s entry point does.
import { kafkaJsRecordEncoder, patchKafkaJsRecordEncoder, type RecordFields } from './record-patch.ts';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
const inKafkaJs = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: RecordFields) => {
  readonly buffer: Buffer;
};
const stock = kafkaJsRecordEncoder() as typeof inKafkaJs;
const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => object;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => {
  offset: number;
  readVarInt(): number;
};
const decodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as (
  d: object,
  batch: { firstOffset: string; firstTimestamp: string },
) => {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  timestamp: string;
  headers: Record<string, Buffer | Buffer[]>;
};

const bytesOf = (fields: RecordFields): Buffer => Buffer.from(inKafkaJs(fields).buffer);
const stockBytesOf = (fields: RecordFields): Buffer => Buffer.from(stock(fields).buffer);

describe('kafkajs record encoder patch', () => {
  it('is what kafkajs’ produce request loads, and kafkajs’ own is kept to compare with', () => {
    expect(patchKafkaJsRecordEncoder()).toBe('applied');
    expect(inKafkaJs).not.toBe(stock);
    expect(inKafkaJs({ key: 'k', value: 'v' })).toBeInstanceOf(Encoder);
  });

  const value = randomBytes(1_500);
  const cases: [string, RecordFields][] = [
    [
      'a Buffer key and value with a header',
      { key: Buffer.from('key-1'), value, headers: { 'ehrflow-kind': 'UPSERT' } },
    ],
    ['string key and value', { key: 'Patient/1', value: 'ünïcödé ✓ text', offsetDelta: 3 }],
    ['a null key', { key: null, value, offsetDelta: 499 }],
    ['a null value (a tombstone)', { key: 'k', value: null }],
    ['an undefined key and value', {}],
    ['empty key and value', { key: '', value: Buffer.alloc(0) }],
    [
      'header values as Buffers and arrays',
      { key: 'k', value, headers: { a: Buffer.from('x'), b: ['1', Buffer.from('2')], ü: '' } },
    ],
    ['no headers object', { key: 'k', value, headers: undefined }],
    ['a varint length of three bytes', { key: 'k', value: randomBytes(20_000) }],
    ['negative and large timestamp deltas', { key: 'k', value, timestampDelta: -5 }],
    [
      'a timestamp delta of 40 bits',
      { key: 'k', value, timestampDelta: 2 ** 40 + 12_345, offsetDelta: 70_000 },
    ],
    [
      'a value of exactly 63 bytes (a one-byte varint length at its edge)',
      { key: 'k', value: randomBytes(63) },
    ],
    ['a value of exactly 64 bytes (the first two-byte varint length)', { key: 'k', value: randomBytes(64) }],
  ];
  it.each(cases)('writes kafkajs’ bytes for %s', (_label, fields) => {
    const ours = bytesOf(fields);
    expect(ours.equals(stockBytesOf(fields))).toBe(true);
    // And kafkajs' decoder reads back what was given.
    const decoder = new Decoder(ours);
    const length = decoder.readVarInt();
    expect(length).toBe(ours.length - decoder.offset);
    const decoded = decodeRecord(decoder, { firstOffset: '0', firstTimestamp: '0' });
    const asBuffer = (v: unknown): Buffer | null =>
      v === null || v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v as string);
    expect(decoded.key).toEqual(asBuffer(fields.key));
    expect(decoded.value).toEqual(asBuffer(fields.value));
    expect(decoded.offset).toBe(String(fields.offsetDelta ?? 0));
    expect(decoded.timestamp).toBe(String(fields.timestampDelta ?? 0));
    const headers = Object.entries((fields.headers ?? {}) as Record<string, unknown>).map(([k, v]) => [
      k,
      Array.isArray(v) ? v.map(asBuffer) : asBuffer(v),
    ]);
    expect(Object.entries(decoded.headers)).toEqual(headers);
  });

  it('passes what it does not handle to kafkajs’ own encoder, errors included', () => {
    // A number key: kafkajs measures it with Buffer.byteLength and throws; so does the patch.
    const numberKey = { key: 5, value: 'v' } as unknown as RecordFields;
    expect(() => stock(numberKey)).toThrow();
    expect(() => inKafkaJs(numberKey)).toThrow();
    // A null header value: kafkajs throws on it as well.
    const nullHeader = { key: 'k', value: 'v', headers: { h: null } };
    expect(() => stock(nullHeader)).toThrow();
    expect(() => inKafkaJs(nullHeader)).toThrow();
    // A fractional delta: kafkajs' Long refuses it.
    expect(() => stock({ key: 'k', value: 'v', timestampDelta: 1.5 })).toThrow(RangeError);
    expect(() => inKafkaJs({ key: 'k', value: 'v', timestampDelta: 1.5 })).toThrow(RangeError);
    // Deltas past the fast path's range still encode as kafkajs does.
    for (const fields of [
      { key: 'k', value: 'v', timestampDelta: 2 ** 53 - 1 },
      { key: 'k', value: 'v', timestampDelta: -(2 ** 52) },
      { key: 'k', value: 'v', offsetDelta: 2 ** 30 },
    ]) {
      expect(bytesOf(fields).equals(stockBytesOf(fields))).toBe(true);
    }
  });

  it('writes every record of a produce-sized run as kafkajs does', () => {
    for (let i = 0; i < 500; i++) {
      const fields: RecordFields = {
        key: i % 7 === 0 ? null : `key-${i}`,
        value: randomBytes((i * 37) % 3_000),
        offsetDelta: i,
        timestampDelta: i % 3 === 0 ? 0 : i * 1_000,
        headers: i % 2 === 0 ? {} : { 'ehrflow-kind': i % 4 === 1 ? 'DELETE' : 'UPSERT' },
      };
      expect(bytesOf(fields).equals(stockBytesOf(fields)), `record ${i}`).toBe(true);
    }
  });
});
