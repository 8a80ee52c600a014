import { describe, expect, it } from 'vitest';
import { formatDetails, formatMarkdown, formatRows } from './report.ts';
import type { ScenarioRow } from './run-scenario.ts';

const row = (over: Partial<ScenarioRow>): ScenarioRow => ({
  scenario: 'ehr-link-down',
  summary: 'link down',
  passed: true,
  skipped: null,
  recordsIn: 7301,
  quarantined: 35,
  rowsOut: 7266,
  feeds: null,
  lost: 0,
  duplicatedByRecordId: 0,
  duplicatedByKey: 0,
  reconciled: true,
  recoveryMs: 1_500,
  alerts: 7,
  leakHits: 0,
  crashes: [],
  jobs: [],
  durationMs: 157_400,
  notes: ['proxy: 13 connections'],
  problems: [],
  ...over,
});

describe('the scenario table', () => {
  it('has one row per scenario with the invariants, recovery and wall time', () => {
    const md = formatMarkdown([
      row({}),
      row({ scenario: 'kill-all', passed: false, lost: 3, reconciled: false }),
    ]);
    const lines = md.split('\n');
    expect(lines[0]).toContain('| records in | rows out | lost |');
    expect(lines[0]).toContain('| time |');
    expect(lines[2]).toBe(
      '| ehr-link-down | pass | 7301 (35 quar.) | 7266 | 0 | 0 | 0 | yes | 1.5 s | 7 | 0 | 157 s |',
    );
    expect(lines[3]).toMatch(/^\| kill-all \| FAIL \| .* \| 3 \| .* \| no \|/);
  });

  it('shows a skipped scenario without figures, and the reason under the table', () => {
    const skipped = row({ scenario: 'ehr-bandwidth', skipped: 'network namespaces need root', notes: [] });
    expect(formatRows([skipped])).toMatch(/ehr-bandwidth\s+skipped\s*$/m);
    expect(formatDetails([skipped])).toEqual(['ehr-bandwidth: skipped (network namespaces need root)']);
  });
});
