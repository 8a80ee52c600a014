import { describe, expect, it } from 'vitest';
import { consumerLag, totalLag, type LagAdmin } from './admin.ts';

function fakeAdmin(
  committed: Record<string, Record<number, string>>,
  ends: Record<string, { partition: number; low: string; high: string }[]>,
): LagAdmin {
  return {
    fetchOffsets: ({ topics }: { topics?: string[] }) =>
      Promise.resolve(
        (topics ?? []).map((topic) => ({
          topic,
          partitions: Object.entries(committed[topic] ?? {}).map(([partition, offset]) => ({
            partition: Number(partition),
            offset,
            metadata: null,
          })),
        })),
      ),
    fetchTopicOffsets: (topic: string) =>
      Promise.resolve((ends[topic] ?? []).map((e) => ({ ...e, offset: e.high }))),
  };
}

describe('consumerLag', () => {
  it('measures from the committed offset, or from the earliest retained offset when nothing is committed', async () => {
    const admin = fakeAdmin(
      { 'ehr.raw': { 0: '90', 1: '-1' } },
      {
        'ehr.raw': [
          { partition: 1, low: '10', high: '25' },
          { partition: 0, low: '0', high: '100' },
        ],
        'ehr.jobs': [{ partition: 0, low: '0', high: '0' }],
      },
    );
    const lags = await consumerLag(admin, 'validator', ['ehr.raw', 'ehr.jobs']);
    expect(lags).toEqual([
      { topic: 'ehr.jobs', partition: 0, lag: 0, committed: null, end: '0' },
      { topic: 'ehr.raw', partition: 0, lag: 10, committed: '90', end: '100' },
      { topic: 'ehr.raw', partition: 1, lag: 15, committed: null, end: '25' },
    ]);
    expect(totalLag(lags)).toBe(25);
  });

  it('never reports negative lag (committed past the end after retention or truncation)', async () => {
    const admin = fakeAdmin({ t: { 0: '50' } }, { t: [{ partition: 0, low: '0', high: '40' }] });
    expect(totalLag(await consumerLag(admin, 'g', ['t']))).toBe(0);
  });
});
