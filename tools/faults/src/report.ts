import { formatTable } from '@ehrflow/pipeline-tools';
import type { ScenarioRow } from './run-scenario.ts';

/** The scenario table: one row per scenario, the columns the issue asks for and the scenario's wall time. */
export function formatRows(rows: readonly ScenarioRow[]): string {
  const header = [
    'scenario',
    'result',
    'records in',
    'rows out',
    'lost',
    'dup (record id)',
    'dup (key)',
    'reconciled',
    'recovery',
    'alerts',
    'leak hits',
    'time',
  ];
  const body = rows.map((r) =>
    r.skipped !== null
      ? [r.scenario, 'skipped', '', '', '', '', '', '', '', '', '', '']
      : [
          r.scenario,
          r.passed ? 'pass' : 'FAIL',
          String(r.recordsIn) + (r.quarantined > 0 ? ` (${r.quarantined} quar.)` : ''),
          String(r.rowsOut),
          String(r.lost),
          String(r.duplicatedByRecordId),
          String(r.duplicatedByKey),
          r.reconciled ? 'yes' : 'no',
          r.recoveryMs === null ? '-' : `${(r.recoveryMs / 1000).toFixed(1)} s`,
          String(r.alerts),
          r.leakHits < 0 ? 'n/a' : String(r.leakHits),
          `${Math.round(r.durationMs / 1000)} s`,
        ],
  );
  return formatTable([header, ...body]);
}

/** The same table in Markdown (for the README's reliability section). */
export function formatMarkdown(rows: readonly ScenarioRow[]): string {
  const [head = '', , ...body] = formatRows(rows).split('\n');
  const cells = (line: string): string[] => line.split(/\s{2,}/).map((c) => c.trim());
  const headCells = cells(head);
  return [
    `| ${headCells.join(' | ')} |`,
    `| ${headCells.map(() => '---').join(' | ')} |`,
    ...body.map((l) => `| ${cells(l).join(' | ')} |`),
  ].join('\n');
}

/** Lines under the table: why a scenario failed or was skipped, and what it observed. */
export function formatDetails(rows: readonly ScenarioRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    if (r.skipped !== null) out.push(`${r.scenario}: skipped (${r.skipped})`);
    for (const c of r.crashes) out.push(`${r.scenario}: crash: ${c}`);
    for (const p of r.problems) out.push(`${r.scenario}: ${p}`);
    for (const n of r.notes) out.push(`${r.scenario}: ${n}`);
  }
  return out;
}
