import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createKeyring, encryptPayload } from '@ehrflow/phi';
import { createCanaryMatcher } from '@ehrflow/testing';
import { scanKafkaRecord, type ScannedRecord, type ValueDecoder } from './scan-kafka.ts';
import { createValueScanner } from './scan-value.ts';

const CANARY = 'Quillonbeck';
const matcher = createCanaryMatcher([CANARY]);
const scanner = createValueScanner(matcher);
const ring = createKeyring([['k1', randomBytes(32)]]);

/** Decodes JSON values; anything else is "not a record". */
const jsonDecoder: ValueDecoder = {
  decode(buf) {
    return Promise.resolve({ value: JSON.parse(buf.toString('utf8')) as unknown });
  },
};

function record(value: Buffer | null, extra: Partial<Omit<ScannedRecord, 'timestamp'>> = {}): ScannedRecord {
  return {
    topic: 'ehr.raw',
    partition: 1,
    offset: '42',
    key: Buffer.from('pseudo'),
    headers: {},
    value,
    timestamp: 0,
    ...extra,
  };
}

describe('scanKafkaRecord', () => {
  it('finds a canary in a decoded clear field and locates it by topic, partition, offset and path', async () => {
    const out = await scanKafkaRecord(
      record(Buffer.from(JSON.stringify({ note: `saw ${CANARY}` }))),
      jsonDecoder,
      scanner,
      matcher,
    );
    expect(out.hits).toEqual([
      { source: 'kafka', location: 'ehr.raw/1@42 note', canary: 0, count: 1, kind: 'clear' },
    ]);
  });

  it('checks the key and headers as clear text', async () => {
    const out = await scanKafkaRecord(
      record(null, { key: Buffer.from(CANARY), headers: { trace: Buffer.from(`x${CANARY}`) } }),
      jsonDecoder,
      scanner,
      matcher,
    );
    expect(out.hits.map((h) => h.location)).toEqual(['ehr.raw/1@42 key', 'ehr.raw/1@42 header trace']);
  });

  it('scans an undecodable value as raw bytes', async () => {
    const out = await scanKafkaRecord(
      record(Buffer.from(`not json ${CANARY}`)),
      jsonDecoder,
      scanner,
      matcher,
    );
    expect(out.decoded).toBe(false);
    expect(out.hits).toEqual([
      { source: 'kafka', location: 'ehr.raw/1@42 value (undecodable)', canary: 0, count: 1, kind: 'clear' },
    ]);
  });

  it('passes an encrypted payload and counts it as checked', async () => {
    const payload = encryptPayload(ring, Buffer.from(CANARY));
    const decoder: ValueDecoder = { decode: () => Promise.resolve({ value: { recordId: 'r', payload } }) };
    const out = await scanKafkaRecord(record(Buffer.from('framed')), decoder, scanner, matcher);
    expect(out.hits).toEqual([]);
    expect(out.encryptedChecked).toBe(1);
  });
});
