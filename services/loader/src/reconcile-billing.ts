import type { ReconcileResult, ReconcileStage } from './reconcile.ts';
import { MESSAGE_STAGES, type MessageCounts } from './reconcile-messages.ts';

/**
 * The billing identity over the file jobs of an X12 drop (one job per file, `x12:<source>:<digest>`),
 * counted in transaction sets: sets on the raw topic = valid + quarantined sets, and clean = loaded
 * = valid sets (a set is valid when every resource it maps to is). Files refused whole never reach
 * the raw topic; they are counted apart, from their quarantine records. The message counts are
 * transaction sets (`raw`: distinct record ids on the raw topic).
 */
export interface BillingTotals extends MessageCounts {
  readonly files: number;
  /** Files refused whole before the raw topic (a cut file, a trailer count that lied). */
  readonly refusedFiles: number;
  /** Resources (Claim, ExplanationOfBenefit) loaded. */
  readonly loadedRecords: number;
  /** Every identity holds. */
  readonly reconciled: boolean;
  /** What does not hold, PHI-free. */
  readonly gaps: readonly string[];
}

const countOf = (r: ReconcileResult, stage: ReconcileStage): number =>
  r.rows.find((row) => row.stage === stage)?.count ?? 0;

/** Sums {@link ReconcileResult}s of X12 file jobs into {@link BillingTotals}. */
export function billingTotals(results: readonly ReconcileResult[]): BillingTotals {
  let refusedFiles = 0;
  const t = { raw: 0, valid: 0, quarantined: 0, incomplete: 0, clean: 0, loaded: 0, loadedRecords: 0 };
  for (const r of results) {
    const raw = countOf(r, 'raw');
    if (raw === 0 && (r.refusedBlocks ?? 0) > 0) {
      refusedFiles += 1;
      continue;
    }
    // A file whose every set was quarantined maps to no resource: no message counts, rows suffice.
    const m = r.messages ?? {
      raw,
      valid: countOf(r, 'valid'),
      quarantined: countOf(r, 'quarantined'),
      incomplete: 0,
      clean: countOf(r, 'clean'),
      loaded: countOf(r, 'loaded'),
    };
    for (const stage of MESSAGE_STAGES) t[stage] += m[stage];
    t.loadedRecords += countOf(r, 'loaded');
  }
  const gaps: string[] = [];
  if (t.valid + t.quarantined !== t.raw)
    gaps.push(`valid ${t.valid} + quarantined ${t.quarantined} != raw ${t.raw} transaction sets`);
  if (t.clean !== t.valid) gaps.push(`clean ${t.clean} != valid ${t.valid} transaction sets`);
  if (t.loaded !== t.valid) gaps.push(`loaded ${t.loaded} != valid ${t.valid} transaction sets`);
  if (t.incomplete > 0) gaps.push(`${t.incomplete} transaction set(s) only partly on the valid topics`);
  return { files: results.length, refusedFiles, ...t, reconciled: gaps.length === 0, gaps };
}
