// The patch must load before kafkajs' produce request, as `@ehrflow/kafka`'s entry point does.
import {
  kafkaJsRecordDecoder,
  kafkaJsRecordEncoder,
  patchKafkaJsRecordDecoder,
  patchKafkaJsRecordEncoder,
  type RecordDecoder,
  type RecordFields,
} from './record-patch.ts';
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
  buffer: Buffer;
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

describe('kafkajs record encoder patch', () => {
  it('is what kafkajs’ produce request loads, and kafkajs’ own is kept to compare with', () => {
    expect(patchKafkaJsRecordEncoder()).toBe('applied');
    expect(inKafkaJs).not.toBe(stock);
    expect(inKafkaJs({ key: 'k', value: 'v' })).toBeInstanceOf(Encoder);
  });

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

const inKafkaJsDecoder = require('kafkajs/src/protocol/recordBatch/record/v0/decoder.js') as RecordDecoder;
const stockDecoder = kafkaJsRecordDecoder();
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (b: object) => Promise<{ readonly buffer: Buffer }>;
};
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: object) => Promise<{
  records: object[];
}>;

/** A record's bytes without its length prefix, as kafkajs' batch decoder hands them over. */
function recordBytes(fields: RecordFields): Buffer {
  const decoder = new Decoder(bytesOf(fields));
  decoder.readVarInt();
  return Buffer.from(decoder.buffer.subarray(decoder.offset));
}

const context = {
  firstOffset: '4200',
  firstTimestamp: '1733570000000',
  magicByte: 2,
  isControlBatch: false,
  timestampType: 0,
  maxTimestamp: '1733570009999',
};

describe('kafkajs record decoder patch', () => {
  it('is what kafkajs’ record-batch decoder loads, and kafkajs’ own is kept to compare with', () => {
    expect(patchKafkaJsRecordDecoder()).toBe('applied');
    expect(inKafkaJsDecoder).not.toBe(stockDecoder);
  });

  const decodeCases: [string, RecordFields, object][] = [
    ...cases.map(([label, fields]): [string, RecordFields, object] => [label, fields, context]),
    [
      'repeated header names (kafkajs makes an array)',
      { key: 'k', value, headers: { a: ['1', '2', '3'], b: 'x' } },
      context,
    ],
    ['a log-append-time batch', { key: 'k', value, timestampDelta: 17 }, { ...context, timestampType: 1 }],
    ['a control batch', { key: 'k', value }, { ...context, isControlBatch: true }],
    [
      'negative first timestamp',
      { key: 'k', value, timestampDelta: 3 },
      { ...context, firstTimestamp: '-1' },
    ],
    // Past the fast path: kafkajs' own decoder reads these.
    [
      'an offset beyond 2^53',
      { key: 'k', value, offsetDelta: 9 },
      { ...context, firstOffset: '9007199254740993' },
    ],
  ];
  it.each(decodeCases)('reads what kafkajs reads for %s', (_label, fields, batch) => {
    const bytes = recordBytes(fields);
    const ours = new Decoder(bytes);
    const theirs = new Decoder(bytes);
    expect(inKafkaJsDecoder(ours, batch)).toEqual(stockDecoder(theirs, batch));
    expect(ours.offset).toBe(theirs.offset);
  });

  it('keeps kafkajs’ handling of a header without a value and of a "__proto__" header', () => {
    // Encoded by hand: kafkajs' encoder refuses a null header value.
    const nullValue = Buffer.concat([
      recordBytes({ key: 'k', value: 'v' }).subarray(0, -1),
      Buffer.from([0x02, 0x02, 0x68, 0x01]),
    ]);
    const proto = Buffer.concat([
      recordBytes({ key: 'k', value: 'v' }).subarray(0, -1),
      Buffer.from([0x02, 0x12, ...Buffer.from('__proto__'), 0x02, 0x78]),
    ]);
    for (const bytes of [nullValue, proto]) {
      const ours = inKafkaJsDecoder(new Decoder(bytes), context) as { headers: object };
      expect(ours).toEqual(stockDecoder(new Decoder(bytes), context));
      expect(Object.getPrototypeOf(ours.headers)).toBe(Object.prototype);
    }
  });

  it('reads a header named after an Object method as its value, where kafkajs made an array', () => {
    const bytes = recordBytes({
      key: 'k',
      value: 'v',
      headers: { constructor: 'c', toString: ['t1', 't2'] },
    });
    const ours = inKafkaJsDecoder(new Decoder(bytes), context) as { headers: Record<string, unknown> };
    expect(ours.headers).toEqual({
      constructor: Buffer.from('c'),
      toString: [Buffer.from('t1'), Buffer.from('t2')],
    });
    expect(Object.keys(ours.headers)).toEqual(['constructor', 'toString']);
    // kafkajs' own reading, which the patch does not copy here.
    const theirs = stockDecoder(new Decoder(bytes), context) as { headers: Record<string, unknown> };
    expect(theirs.headers.constructor).toEqual([Object, Buffer.from('c')]);
  });

  it('falls back on bytes cut short, as kafkajs reads them', () => {
    const bytes = recordBytes({ key: 'key', value: randomBytes(300) });
    for (const cut of [1, 2, 5, 40, bytes.length - 1]) {
      const short = bytes.subarray(0, cut);
      let theirs: unknown;
      let theirError: unknown;
      try {
        theirs = stockDecoder(new Decoder(short), context);
      } catch (err) {
        theirError = err;
      }
      if (theirError === undefined) expect(inKafkaJsDecoder(new Decoder(short), context)).toEqual(theirs);
      else expect(() => inKafkaJsDecoder(new Decoder(short), context)).toThrow();
    }
  });

  it('decodes a produced batch of 500 records as kafkajs does', async () => {
    const fields = Array.from({ length: 500 }, (_, i) => ({
      key: i % 9 === 0 ? null : `Patient/${i}`,
      value: randomBytes((i * 53) % 2_500),
      headers: i % 3 === 0 ? {} : { 'ehrflow-kind': 'UPSERT', trace: ['a', 'b'] },
    }));
    const batch = Buffer.from(
      (
        await RecordBatch({
          records: fields.map((f, i) => stock({ ...f, offsetDelta: i, timestampDelta: i * 11 })),
          firstTimestamp: 1_733_570_000_000,
          maxTimestamp: 1_733_570_005_489,
          lastOffsetDelta: fields.length - 1,
        })
      ).buffer,
    );
    const { records } = await decodeBatch(new Decoder(batch));
    expect(records).toHaveLength(500);
    records.forEach((record, i) => {
      const r = record as {
        key: Buffer | null;
        value: Buffer;
        offset: string;
        timestamp: string;
        headers: object;
      };
      expect(r.offset).toBe(String(i));
      expect(r.timestamp).toBe(String(1_733_570_000_000 + i * 11));
      expect(r.key).toEqual(fields[i]!.key === null ? null : Buffer.from(fields[i]!.key));
      expect(r.value.equals(fields[i]!.value)).toBe(true);
      expect(r.headers).toEqual(
        i % 3 === 0
          ? {}
          : { 'ehrflow-kind': Buffer.from('UPSERT'), trace: [Buffer.from('a'), Buffer.from('b')] },
      );
    });
  });
});
