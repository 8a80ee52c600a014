import { describe, expect, it } from 'vitest';
import { createCanaryMatcher } from '@ehrflow/testing';
import { scanTableRow } from './scan-postgres.ts';
import { scanRedisEntry } from './scan-redis.ts';
import { createValueScanner } from './scan-value.ts';

const CANARY = 'Quillonbeck';
const matcher = createCanaryMatcher(['Zeroth', CANARY]);
const scanner = createValueScanner(matcher);

describe('scanRedisEntry', () => {
  it('finds a canary in a key name without printing the name', () => {
    const hits = scanRedisEntry(
      { key: Buffer.from(`ehrflow:tok:${CANARY}`), type: 'string', values: [Buffer.from('1')] },
      matcher,
      scanner,
    );
    expect(hits).toHaveLength(1);
    expect(hits[0]).toMatchObject({ source: 'redis', canary: 1, kind: 'clear' });
    expect(hits[0]?.location).toMatch(/^key sha256:[0-9a-f]{12} \(string\) name$/);
  });

  it('finds a canary in a value of a hash', () => {
    const hits = scanRedisEntry(
      {
        key: Buffer.from('ehrflow:h'),
        type: 'hash',
        values: [Buffer.from('f'), Buffer.from(`{"n":"${CANARY}"}`)],
      },
      matcher,
      scanner,
    );
    expect(hits.map((h) => [h.canary, h.location.endsWith('value 1')])).toEqual([[1, true]]);
  });

  it('passes clean keys', () => {
    expect(
      scanRedisEntry(
        { key: Buffer.from('ehrflow:rl:site-a'), type: 'zset', values: [Buffer.from('123')] },
        matcher,
        scanner,
      ),
    ).toEqual([]);
  });
});

describe('scanTableRow', () => {
  it('finds a canary inside a jsonb column and names the column path', () => {
    const json = JSON.stringify({ logical_id: 'abc', record: { note: `with ${CANARY}` } });
    expect(scanTableRow({ table: 'clean.observation', rowNumber: 7, json }, scanner)).toEqual([
      {
        source: 'postgres',
        location: 'clean.observation row 7 record.note',
        canary: 1,
        count: 1,
        kind: 'clear',
      },
    ]);
  });
});
