import type { ReconcileResult, ReconcileRow } from './reconcile.ts';

/** A plain text table; numeric columns (by index) are right-aligned. */
function textTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: ReadonlySet<number>,
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const n = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : String(v));

function status(r: ReconcileRow): string {
  if (r.gap === null) return r.ok ? '' : 'UNKNOWN';
  if (r.gap !== 0) return r.gap < 0 ? `GAP: ${-r.gap} missing` : `GAP: ${r.gap} extra`;
  // Totals agree, but a delete may have become an upsert (or the reverse) on the way.
  const d = r.deletesGap ?? 0;
  if (d !== 0) return d < 0 ? `GAP: ${-d} deletes missing` : `GAP: ${d} deletes extra`;
  return 'ok';
}

/** The reconciliation of a job as text: the stage table, the per-type table, notes and the verdict. */
export function formatReconcile(result: ReconcileResult): string {
  const header = result.job
    ? `job ${result.jobId}  source ${result.job.sourceId}  kind ${result.job.kind}  state ${result.job.state}`
    : `job ${result.jobId}  (no job event found)`;
  const stages = textTable(
    ['STAGE', 'FROM', 'RECORDS', 'UPSERTS', 'DELETES', 'EXPECTED', 'CHECK'],
    result.rows.map((r) => [
      r.label,
      r.from,
      n(r.count),
      n(r.upserts),
      n(r.deletes),
      n(r.expected),
      status(r),
    ]),
    new Set([2, 3, 4, 5]),
  );
  const types = Object.entries(result.byType).sort(([a], [b]) => a.localeCompare(b));
  const perType =
    types.length === 0
      ? ''
      : `\n\n${textTable(
          ['TYPE', 'RAW', 'VALID', 'QUARANTINED', 'CLEAN', 'LOADED'],
          types.map(([t, c]) => [t, n(c.raw), n(c.valid), n(c.quarantined), n(c.clean), n(c.loaded)]),
          new Set([1, 2, 3, 4, 5]),
        )}`;
  const notes = result.notes.length === 0 ? '' : `\n\n${result.notes.map((x) => `note: ${x}`).join('\n')}`;
  const verdict = result.reconciled
    ? 'RECONCILED: every record is accounted for'
    : 'NOT RECONCILED: see the gaps and notes above';
  return `${header}\n\n${stages}${perType}${notes}\n\n${verdict}\n`;
}
