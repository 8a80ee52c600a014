// The patch must load before kafkajs' record-batch encoder, as `@ehrflow/kafka`'s entry point does.
import { patchKafkaJsCrc32c } from './crc32c-patch.ts';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
/** kafkajs' own JavaScript CRC-32C, which the patch leaves in place as the reference. */
const jsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (buffer: Buffer) => number;
const checksum = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (buffer: Buffer) => number;
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (r: object) => object;
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0/index.js') as {
  RecordBatch: (b: object) => Promise<{ readonly buffer: Buffer }>;
};

/** Where a v2 record batch keeps its CRC and where the checksummed part starts (KIP-98 layout). */
const CRC_AT = 8 + 4 + 4 + 1;
const BODY_AT = CRC_AT + 4;

describe('kafkajs CRC-32C patch', () => {
  it('is applied when loaded before the record-batch encoder', () => {
    expect(patchKafkaJsCrc32c()).toBe('applied');
    expect(checksum).not.toBe(jsCrc32c);
  });

  it('gives the same checksum as kafkajs’ JavaScript on every length, empty and unaligned included', () => {
    const data = randomBytes(1 << 20);
    for (const length of [0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1499, 1500, 4096, 65_537, 1 << 20]) {
      for (const offset of [0, 1, 5]) {
        const slice = data.subarray(offset, Math.min(data.length, offset + length));
        expect(checksum(slice), `length ${slice.length} at ${offset}`).toBe(jsCrc32c(slice));
      }
    }
    // The check value of CRC-32C (Castagnoli) for the ASCII digits 1-9.
    expect(checksum(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('is what a produced record batch carries, and the CRC covers the batch body', async () => {
    const records = Array.from({ length: 200 }, (_, i) => ({
      key: Buffer.from(`key-${i}`),
      value: randomBytes(1_400 + i),
      headers: { 'ehrflow-kind': 'UPSERT' },
    }));
    const batch = Buffer.from(
      (
        await RecordBatch({
          records: records.map((r, i) => Record({ ...r, offsetDelta: i, timestampDelta: 0 })),
          firstTimestamp: 1_700_000_000_000,
          maxTimestamp: 1_700_000_000_000,
          lastOffsetDelta: records.length - 1,
        })
      ).buffer,
    );
    const body = batch.subarray(BODY_AT);
    expect(batch.readUInt32BE(CRC_AT)).toBe(jsCrc32c(body));
    // One flipped body byte changes it: the field is a checksum of the body, not a constant.
    const flipped = Buffer.from(body);
    const middle = flipped.length >> 1;
    flipped.writeUInt8(flipped.readUInt8(middle) ^ 0xff, middle);
    expect(jsCrc32c(flipped)).not.toBe(batch.readUInt32BE(CRC_AT));
  });
});
