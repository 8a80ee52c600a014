import { describe, expect, it } from 'vitest';
import { readBlock } from './batch.ts';

const msg = (id: string) => `MSH|^~\\&|A|F|R|RF|20261205||ADT^A08|${id}|P|2.5.1\rPID|1||X${id}`;
const batch = (ids: string[], bts: number | string, opts: { fhs?: boolean; fts?: number | string } = {}) =>
  [
    ...(opts.fhs ? ['FHS|^~\\&|A|F|R|RF|20261205||||FILE1'] : []),
    'BHS|^~\\&|A|F|R|RF|20261205||||B-7',
    ...ids.map(msg),
    `BTS|${bts}`,
    ...(opts.fts !== undefined ? [`FTS|${opts.fts}`] : []),
  ].join('\r');

describe('readBlock', () => {
  it('a single message is a message', () => {
    expect(readBlock(msg('1')).kind).toBe('message');
  });

  it('a batch whose counts hold yields its messages and identity', () => {
    const read = readBlock(batch(['1', '2', '3'], 3, { fhs: true, fts: 1 }));
    expect(read.kind).toBe('batch');
    if (read.kind !== 'batch') return;
    expect(read.batch.messages).toHaveLength(3);
    expect(read.batch.messages[1]).toContain('|2|P|');
    expect(read.batch).toMatchObject({
      sendingApplication: 'A',
      sendingFacility: 'F',
      batchId: 'FILE1',
      batches: 1,
    });
  });

  it('BTS-1 that lies rejects the batch whole with the counts and position', () => {
    expect(readBlock(batch(['1', '2'], 3))).toMatchObject({
      kind: 'invalid-batch',
      problem: { reason: 'batch_count_mismatch', position: 'BTS-1', declared: 3, found: 2 },
      header: { batchId: 'B-7' },
    });
  });

  it('FTS-1 that lies rejects the file', () => {
    expect(readBlock(batch(['1'], 1, { fhs: true, fts: 2 }))).toMatchObject({
      kind: 'invalid-batch',
      problem: { position: 'FTS-1', declared: 2, found: 1 },
    });
  });

  it('a batch without its trailer is incomplete', () => {
    const cut = batch(['1', '2'], 2).split('\rBTS')[0] as string;
    expect(readBlock(cut)).toMatchObject({
      kind: 'invalid-batch',
      problem: { reason: 'batch_incomplete', position: 'BTS' },
    });
    expect(readBlock(batch(['1'], 1, { fhs: true }))).toMatchObject({
      problem: { reason: 'batch_incomplete', position: 'FTS' },
    });
  });

  it('a segment before the first MSH is malformed', () => {
    const text = 'BHS|^~\\&|A|F|||||||B\rPID|1\rBTS|0';
    expect(readBlock(text)).toMatchObject({
      kind: 'invalid-batch',
      problem: { reason: 'batch_malformed', position: 'PID' },
    });
  });
});
