import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { patchKafkaJsEncoder, REFERENCE_MIN_BYTES } from './encoder-patch.ts';

interface EncoderLike {
  writeInt32(value: number): EncoderLike;
  writeInt8(value: number): EncoderLike;
  writeString(value: string): EncoderLike;
  writeBytes(value: Buffer): EncoderLike;
  writeEncoder(value: EncoderLike): EncoderLike;
  writeEncoderArray(value: EncoderLike[]): EncoderLike;
  writeArray(value: unknown[]): EncoderLike;
  size(): number;
  readonly buffer: Buffer;
}

const require = createRequire(import.meta.url);
const Encoder = require('kafkajs/src/protocol/encoder.js') as new (initialSize?: number) => EncoderLike;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => object;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => object;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (b: object) => Promise<EncoderLike>;
};
const produceV3 = require('kafkajs/src/protocol/requests/produce/v3/request.js') as (r: object) => {
  encode: () => Promise<EncoderLike>;
};
const frameRequest = require('kafkajs/src/protocol/request.js') as (r: object) => Promise<EncoderLike>;
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder.js') as (d: object) => Promise<{
  records: { key: Buffer; value: Buffer; headers: Record<string, Buffer> }[];
}>;

/** 300 records of ~1.5 KB with distinct bytes, so any stale or uninitialised byte would show. */
const records = Array.from({ length: 300 }, (_, i) => ({
  key: Buffer.from(`key-${i}`),
  value: Buffer.alloc(1500 + i, (i * 7) % 251),
  headers: { 'ehrflow-kind': 'UPSERT' },
}));

async function encodeBatch(): Promise<Buffer> {
  const batch = await RecordBatch({
    records: records.map((r, i) => Record({ ...r, offsetDelta: i, timestampDelta: 0 })),
    firstTimestamp: 1_700_000_000_000,
    maxTimestamp: 1_700_000_000_000,
    lastOffsetDelta: records.length - 1,
  });
  return Buffer.from(batch.buffer);
}

/** A framed produce request (as written to the socket): two topics, three partitions, small and large records. */
async function encodeProduceRequest(): Promise<Buffer> {
  const messages = (from: number, to: number) =>
    records.slice(from, to).map((r) => ({ ...r, timestamp: 1_700_000_000_000 }));
  const request = produceV3({
    acks: -1,
    timeout: 30_000,
    transactionalId: 'tx-1',
    topicData: [
      {
        topic: 'ehrflow.valid.patient',
        partitions: [
          { partition: 0, firstSequence: 0, messages: messages(0, 120) },
          { partition: 3, firstSequence: 7, messages: messages(120, 121) },
        ],
      },
      {
        topic: 'ehrflow.valid.observation',
        partitions: [
          {
            partition: 1,
            firstSequence: 0,
            messages: [{ key: 'k', value: 'small', timestamp: 1_700_000_000_000 }],
          },
        ],
      },
    ],
  });
  const framed = await frameRequest({ correlationId: 42, clientId: 'ehrflow-test', request });
  expect(framed.size()).toBe(framed.buffer.length);
  return Buffer.from(framed.buffer);
}

/** Bytes of the buffers of 16 KiB or more that `Buffer.alloc`, `allocUnsafe` and `concat` made while `run` ran. */
async function largeAllocations(run: () => Promise<unknown>): Promise<number> {
  const spies = [vi.spyOn(Buffer, 'alloc'), vi.spyOn(Buffer, 'allocUnsafe'), vi.spyOn(Buffer, 'concat')];
  try {
    await run();
    return spies
      .flatMap((spy) => spy.mock.results)
      .map((result) => (result.value as Buffer).length)
      .reduce((sum, length) => sum + (length >= 16 * 1024 ? length : 0), 0);
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

let stockBatch: Buffer;
let stockRequest: Buffer;
let stockRequestAllocations: number;

beforeAll(async () => {
  // Stock kafkajs first: nothing in this file has patched the encoder yet.
  stockBatch = await encodeBatch();
  stockRequest = await encodeProduceRequest();
  stockRequestAllocations = await largeAllocations(encodeProduceRequest);
  expect(['applied', 'already-applied']).toContain(patchKafkaJsEncoder());
});

describe('kafkajs encoder patch (allocUnsafe growth, nested encoders referenced)', () => {
  it('encodes a record batch byte for byte as stock kafkajs does, and it decodes back', async () => {
    const stock = stockBatch;
    expect(patchKafkaJsEncoder()).toBe('already-applied');
    const patched = await encodeBatch();
    expect(patched.equals(stock)).toBe(true);

    const decoded = await decodeBatch(new Decoder(patched));
    expect(decoded.records).toHaveLength(records.length);
    decoded.records.forEach((r, i) => {
      expect(r.key.equals(records[i]?.key as Buffer)).toBe(true);
      expect(r.value.equals(records[i]?.value as Buffer)).toBe(true);
      expect(r.headers['ehrflow-kind']?.toString()).toBe('UPSERT');
    });
  });

  it('keeps everything written before each growth and exposes nothing past the end', () => {
    patchKafkaJsEncoder();
    const encoder = new Encoder(16);
    const expected: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const chunk = Buffer.alloc(97 + i, i + 1);
      encoder.writeInt32(i).writeBytes(chunk);
      const head = Buffer.alloc(8);
      head.writeInt32BE(i, 0);
      head.writeInt32BE(chunk.length, 4);
      expected.push(head, chunk);
    }
    expect(encoder.buffer.equals(Buffer.concat(expected))).toBe(true);
  });
});

describe('kafkajs encoder patch: nested encoders referenced, not copied', () => {
  it('frames a produce request byte for byte as stock kafkajs does', async () => {
    const patched = await encodeProduceRequest();
    expect(patched.equals(stockRequest)).toBe(true);
  });

  it('allocates a fraction of the large buffers stock kafkajs allocates for the same request', async () => {
    const patched = await largeAllocations(encodeProduceRequest);
    // Stock: ~13 times the payload in growing copies; patched: three joins of exact size.
    expect(stockRequestAllocations).toBeGreaterThan(5 * stockRequest.length);
    expect(patched).toBeLessThan(4 * stockRequest.length);
  });

  it('keeps order and size across small writes, nested encoders, views and writes after a join', () => {
    const big = (fill: number) => Buffer.alloc(REFERENCE_MIN_BYTES + fill, fill);
    const inner = new Encoder().writeInt32(7).writeBytes(big(1)).writeInt8(9);
    const small = new Encoder().writeInt32(3);
    const outer = new Encoder(8)
      .writeInt32(1)
      .writeEncoder(inner)
      .writeString('between')
      .writeEncoderArray([small, inner, small])
      .writeBytes(big(2))
      .writeBytes(Buffer.from('tiny'));
    // Written after being referenced: the parent keeps what was written before.
    inner.writeInt32(99);

    const int32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const innerBytes = Buffer.concat([int32(7), int32(big(1).length), big(1), Buffer.from([9])]);
    const expected = Buffer.concat([
      int32(1),
      innerBytes,
      Buffer.from([0, 7]),
      Buffer.from('between'),
      int32(3),
      innerBytes,
      int32(3),
      int32(big(2).length),
      big(2),
      int32(4),
      Buffer.from('tiny'),
    ]);
    expect(outer.size()).toBe(expected.length);
    expect(outer.buffer.equals(expected)).toBe(true);
    expect(outer.buffer.equals(expected)).toBe(true);

    outer.writeInt32(5).writeBytes(big(3));
    const more = Buffer.concat([expected, int32(5), int32(big(3).length), big(3)]);
    expect(outer.size()).toBe(more.length);
    expect(outer.buffer.equals(more)).toBe(true);
  });

  it('still refuses what is not an encoder', () => {
    expect(() => new Encoder().writeEncoder({} as EncoderLike)).toThrow(/instance of Encoder/);
    expect(() => new Encoder().writeEncoderArray([new Encoder(), {} as EncoderLike])).toThrow(
      /instance of Encoder/,
    );
  });
});
