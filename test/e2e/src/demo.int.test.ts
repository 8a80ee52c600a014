/**
 * A smaller run of the demo's own path (`runDemo`, the same code `npm run demo` runs): a few
 * hundred patients at two sites with production faults on, and the HL7 v2 and X12 billing feeds
 * beside them, on the real topics. Needs the local
 * stack with the pipeline and clean schemas registered (scripts/demo.sh does both; so does
 * `npm run schemas -- register && node services/redactor/src/cli.ts register-schemas`).
 */
import { describe, expect, it } from 'vitest';
import { runDemo } from '@ehrflow/demo';

describe('the demo, small', () => {
  it('reconciles every job, loads what the simulator served minus quarantined, and leaks nothing', async () => {
    const lines: string[] = [];
    const report = await runDemo(
      {
        patients: 150,
        sites: 2,
        faults: true,
        keepStack: true,
        report: undefined,
        timeoutSeconds: 300,
        seed: 'ehrflow-e2e-test',
        help: false,
      },
      { progress: () => undefined, say: (line) => lines.push(line) },
    );
    expect(report.problems).toEqual([]);
    expect(report.jobs.map((j) => j.state)).toEqual(['completed', 'completed']);
    expect(report.loaded).toBeGreaterThan(0);
    // Per site: 150 patients with 2 of each of the first six clinical types (13 per patient), and
    // one of each of the 13 US Core and billing types for every tenth patient (15 each).
    expect(report.served).toBe(2 * (150 * 13 + 15 * 13));
    expect(report.loaded).toBe(report.served - report.quarantined);
    // Faults on: the drift quarantines Patient records, and 5-second tokens are refreshed.
    expect(report.quarantined).toBeGreaterThan(0);
    expect(report.events?.quarantinedByReason.missing_required).toBeGreaterThan(0);
    expect(report.extractor.tokenRefreshes).toBeGreaterThan(2);
    // The gateway admits 20 requests a minute per client and each site sends at least 23 in its
    // first minute: 429s happen, and the extractor saw every one the simulator sent (token
    // endpoint included), and still finished.
    expect(report.extractor.throttled).toBeGreaterThan(0);
    expect(report.extractor.throttled).toBe(report.simulator.rateLimited);
    // The configured limit was a ceiling: each source's granted rate came down under it.
    expect(report.rates).toHaveLength(2);
    for (const rate of report.rates) {
      expect(rate.grantedPerMinute).toBeGreaterThan(0);
      expect(rate.grantedPerMinute).toBeLessThan(rate.ceilingPerMinute);
    }
    // The HL7 feed beside the sites: 3 senders x 10 messages plus a complete batch of 3, the drift
    // switch quarantining the lab's last 4; received = ACKed = raw = valid + quarantined = clean = loaded.
    const hl7 = report.hl7;
    expect(hl7?.feed?.acked).toBe(33);
    expect(hl7?.feed?.batchesRefused).toBe(1);
    expect(hl7?.received).toBe(33);
    expect(hl7?.duplicates).toBeGreaterThan(0);
    expect(hl7?.messages).toEqual({
      raw: 33,
      valid: 29,
      quarantined: 4,
      incomplete: 0,
      clean: 29,
      loaded: 29,
    });
    expect(hl7?.records?.loaded).toBe(hl7?.feed?.expectedRecords);
    expect(hl7?.records?.loaded).toBeGreaterThan(2 * 29);
    expect(hl7?.reconciled).toBe(true);
    // The billing feed beside them: 3 good files (5 + 3 + 3 sets twice, and a sender whose 5 sets
    // drift from the third on), 5 faulty files refused whole, one resent interchange.
    // In = written = raw = valid + quarantined = clean = loaded, in transaction sets.
    const billing = report.billing;
    expect(billing?.drop).toMatchObject({ files: 9, setsIn: 27, expectedQuarantined: 3 });
    expect(billing?.receiver).toEqual({ accepted: 3, rejected: 5, duplicates: 1, setsWritten: 27 });
    expect(billing?.totals).toMatchObject({
      raw: 27,
      valid: 24,
      quarantined: 3,
      incomplete: 0,
      clean: 24,
      loaded: 24,
      refusedFiles: 5,
      reconciled: true,
    });
    expect(billing?.totals?.loadedRecords).toBe(billing?.drop?.expectedRecords);
    const reasons = billing?.refused.map((r) => r.reason.split(' ')[0]) ?? [];
    // The cut file ends inside a segment or between segments, as the cut falls.
    expect(reasons[0]).toMatch(/^(segment_unterminated|[a-z]+_trailer_missing)$/);
    expect(reasons.slice(1)).toEqual([
      'segment_count_mismatch',
      'set_count_mismatch',
      'group_count_mismatch',
      'set_control_mismatch',
    ]);
    expect(billing?.acks.ta1).toBe(9);
    expect(billing?.reconciled).toBe(true);
    expect(report.reconciled).toBe(true);
    expect(report.leakScan?.incomplete).toEqual([]);
    expect(report.leakScan?.protectedMatches).toBeGreaterThan(0);
    expect(report.leakScan?.hits).toEqual([]);
    expect(report.leakScanHits).toBe(0);
  }, 360_000);
});
