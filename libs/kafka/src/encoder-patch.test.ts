import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { patchKafkaJsEncoder } from './encoder-patch.ts';

interface EncoderLike {
  writeInt32(value: number): EncoderLike;
  writeBytes(value: Buffer): EncoderLike;
  readonly buffer: Buffer;
}

const require = createRequire(import.meta.url);
const Encoder = require('kafkajs/src/protocol/encoder.js') as new (initialSize?: number) => EncoderLike;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (buffer: Buffer) => object;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => object;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (b: object) => Promise<EncoderLike>;
};
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

describe('kafkajs encoder patch (allocUnsafe growth)', () => {
  it('encodes a record batch byte for byte as stock kafkajs does, and it decodes back', async () => {
    const stock = await encodeBatch();
    expect(['applied', 'already-applied']).toContain(patchKafkaJsEncoder());
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
