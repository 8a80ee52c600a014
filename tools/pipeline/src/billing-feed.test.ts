import { describe, expect, it } from 'vitest';
import type { BillingTotals } from '@ehrflow/loader';
import {
  billingCanaryLabels,
  billingCanaryValues,
  billingReconciliation,
  type BillingDrop,
} from './billing-feed.ts';

const drop: BillingDrop = {
  acceptedJobs: ['x12:s:a', 'x12:s:b', 'x12:s:c'],
  refused: [
    { jobId: 'x12:s:d', fault: 'cut' },
    { jobId: 'x12:s:e', fault: 'se-count' },
  ],
  duplicateJob: 'x12:s:f',
  files: 6,
  setsIn: 27,
  claimsIn: 40,
  expectedQuarantined: 3,
  expectedRecords: 36,
};
const totals: BillingTotals = {
  files: 5,
  refusedFiles: 2,
  raw: 27,
  valid: 24,
  quarantined: 3,
  incomplete: 0,
  clean: 24,
  loaded: 24,
  loadedRecords: 36,
  reconciled: true,
  gaps: [],
};
const metrics = [
  'ehrflow_x12_files_total{outcome="accepted"} 3',
  'ehrflow_x12_files_total{outcome="rejected"} 2',
  'ehrflow_x12_files_total{outcome="duplicate"} 1',
  'ehrflow_x12_transaction_sets_total{outcome="written"} 27',
  'ehrflow_x12_transaction_sets_total{outcome="duplicate"} 11',
].join('\n');
const reasons = new Map([
  ['x12:s:d', 'segment_unterminated at segment 260'],
  ['x12:s:e', 'segment_count_mismatch at SE (segment 52): declared 51, found 50'],
]);

describe('billing feed report', () => {
  it('reconciles when in = written = raw = valid + quarantined = clean = loaded and every refusal has its reason', () => {
    const problems: string[] = [];
    const report = billingReconciliation({
      sourceId: 's',
      drop,
      metrics,
      totals,
      reasons,
      acks: { ta1: 6, ack999: 5 },
      duplicateRaw: 0,
      problems,
    });
    expect(problems).toEqual([]);
    expect(report.reconciled).toBe(true);
    expect(report.receiver).toEqual({ accepted: 3, rejected: 2, duplicates: 1, setsWritten: 27 });
    expect(report.refused.map((r) => r.fault)).toEqual(['cut', 'se-count']);
  });

  it('names each broken identity, a missing reason and a resend written again', () => {
    const problems: string[] = [];
    const report = billingReconciliation({
      sourceId: 's',
      drop,
      metrics,
      totals: {
        ...totals,
        raw: 26,
        loaded: 23,
        reconciled: false,
        gaps: ['loaded 23 != valid 24 transaction sets'],
      },
      reasons: new Map([['x12:s:d', 'segment_unterminated at segment 260']]),
      acks: { ta1: 6, ack999: 5 },
      duplicateRaw: 11,
      problems,
    });
    expect(report.reconciled).toBe(false);
    expect(problems).toEqual([
      'X12: raw 26 != in 27 transaction sets',
      'X12: loaded 23 != valid 24 transaction sets',
      'X12: a refused file has no reason in quarantine',
      'X12: the resent interchange was written again',
    ]);
  });

  it('has a PHI-free label for every planted value', () => {
    expect(billingCanaryLabels()).toHaveLength(billingCanaryValues().length);
    for (const label of billingCanaryLabels()) expect(label).toMatch(/^x12 subscriber [a-zA-Z]+$/);
  });
});
