import { describe, expect, it } from 'vitest';
import { billingTotals } from './reconcile-billing.ts';
import type { ReconcileResult, ReconcileRow, ReconcileStage } from './reconcile.ts';

const row = (stage: ReconcileStage, count: number): ReconcileRow => ({
  stage,
  label: stage,
  from: '',
  count,
  expected: null,
  gap: null,
  ok: true,
});

function result(
  counts: Partial<Record<ReconcileStage, number>>,
  extra: Partial<ReconcileResult> = {},
): ReconcileResult {
  return {
    jobId: 'x12:s:0',
    reconciled: true,
    retriedBy: null,
    job: null,
    rows: Object.entries(counts).map(([stage, n]) => row(stage as ReconcileStage, n)),
    byType: {},
    notes: [],
    feed: true,
    ...extra,
  };
}

describe('billingTotals', () => {
  it('sums sets over file jobs; a refused file counts apart; a fully quarantined file counts from its rows', () => {
    const totals = billingTotals([
      result(
        { raw: 5, loaded: 9 },
        { messages: { raw: 5, valid: 4, quarantined: 1, incomplete: 0, clean: 4, loaded: 4 } },
      ),
      result({ raw: 3, valid: 0, quarantined: 3, clean: 0, loaded: 0 }),
      result({ raw: 0 }, { refusedBlocks: 1 }),
    ]);
    expect(totals).toMatchObject({
      files: 3,
      refusedFiles: 1,
      raw: 8,
      valid: 4,
      quarantined: 4,
      clean: 4,
      loaded: 4,
      loadedRecords: 9,
      reconciled: true,
      gaps: [],
    });
  });

  it('names each identity that does not hold', () => {
    const totals = billingTotals([
      result(
        { raw: 5 },
        { messages: { raw: 5, valid: 3, quarantined: 1, incomplete: 1, clean: 2, loaded: 3 } },
      ),
    ]);
    expect(totals.reconciled).toBe(false);
    expect(totals.gaps).toEqual([
      'valid 3 + quarantined 1 != raw 5 transaction sets',
      'clean 2 != valid 3 transaction sets',
      '1 transaction set(s) only partly on the valid topics',
    ]);
  });
});
