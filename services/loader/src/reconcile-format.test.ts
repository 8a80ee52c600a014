import { describe, expect, it } from 'vitest';
import type { ReconcileResult } from './reconcile.ts';
import { formatReconcile } from './reconcile-format.ts';

const result: ReconcileResult = {
  jobId: 'job-1',
  reconciled: false,
  retriedBy: null,
  job: {
    sourceId: 'site-a',
    kind: 'backfill',
    state: 'completed',
    counts: {
      read: 3,
      produced: 3,
      deleted: 0,
      errors: 0,
      duplicates: 0,
      retries: 0,
      throttled: 0,
      tokenRefreshes: 0,
    },
  },
  rows: [
    {
      stage: 'source_read',
      label: 'source read',
      from: 'ehr.jobs',
      count: 3,
      expected: null,
      gap: null,
      ok: true,
    },
    {
      stage: 'raw',
      label: 'raw produced',
      from: 'ehr.raw',
      count: 3,
      upserts: 3,
      deletes: 0,
      expected: 3,
      gap: 0,
      ok: true,
    },
    {
      stage: 'clean',
      label: 'clean',
      from: 'ehr.clean.*',
      count: 2,
      upserts: 2,
      deletes: 0,
      expected: 3,
      gap: -1,
      ok: false,
    },
    {
      stage: 'loaded',
      label: 'loaded',
      from: 'clean.loader_ledger',
      count: 3,
      upserts: 2,
      deletes: 1,
      expected: 2,
      gap: 1,
      ok: false,
    },
  ],
  byType: { Patient: { raw: 3, valid: 3, quarantined: 0, clean: 2, loaded: 3 } },
  notes: [],
};

describe('formatReconcile', () => {
  it('shows each stage with its check, the per-type counts and the verdict', () => {
    const text = formatReconcile(result);
    expect(text).toContain('job job-1  source site-a  kind backfill  state completed');
    expect(text).toMatch(/raw produced\s+ehr\.raw\s+3\s+3\s+0\s+3\s+ok/);
    expect(text).toMatch(/clean\s+ehr\.clean\.\*\s+2\s+2\s+0\s+3\s+GAP: 1 missing/);
    expect(text).toMatch(/loaded\s+clean\.loader_ledger\s+3\s+2\s+1\s+2\s+GAP: 1 extra/);
    expect(text).toMatch(/Patient\s+3\s+3\s+0\s+2\s+3/);
    expect(text.trimEnd().endsWith('NOT RECONCILED: see the gaps and notes above')).toBe(true);
  });

  it('flags a delete that became an upsert even when the totals agree', () => {
    const swapped: ReconcileResult = {
      ...result,
      rows: [
        {
          stage: 'clean',
          label: 'clean',
          from: 'ehr.clean.*',
          count: 5,
          upserts: 5,
          deletes: 0,
          expected: 5,
          gap: 0,
          expectedDeletes: 2,
          deletesGap: -2,
          ok: false,
        },
        {
          stage: 'loaded',
          label: 'loaded',
          from: 'clean.loader_ledger',
          count: 5,
          upserts: 3,
          deletes: 2,
          expected: 5,
          gap: 0,
          expectedDeletes: 2,
          deletesGap: 0,
          ok: true,
        },
      ],
    };
    const text = formatReconcile(swapped);
    expect(text).toMatch(/clean\s+ehr\.clean\.\*\s+5\s+5\s+0\s+5\s+GAP: 2 deletes missing/);
    expect(text).toMatch(/loaded\s+clean\.loader_ledger\s+5\s+3\s+2\s+5\s+ok/);
  });
});
