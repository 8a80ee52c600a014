import { breaksLevel, type SchemaChange } from './diff.ts';
import type { CompatibilityLevel } from './compatibility.ts';
import type { SubjectReport } from './schema-check.ts';

/** A plain text table: columns padded to their widest cell, the last column left ragged. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** The change table of one subject: field, change, old → new, whether it breaks the level, rule. */
export function changeTable(changes: readonly SchemaChange[], level: CompatibilityLevel): string {
  const rows = changes.map((c) => [
    c.subject ?? '',
    c.path === '' ? '(record)' : c.path,
    c.change,
    `${c.oldType ?? '-'} → ${c.newType ?? '-'}`,
    breaksLevel(c, level) ? 'BREAKS' : 'ok',
    c.detail === undefined ? c.rule : `${c.rule} [${c.detail}]`,
  ]);
  return table(['SUBJECT', 'FIELD', 'CHANGE', 'OLD → NEW', level, 'RULE'], rows);
}

/** A one-line status of a subject for the summary table. */
export function summaryRow(r: SubjectReport): string[] {
  const registered = r.latest === undefined ? '-' : `v${r.latest.version} (id ${r.latest.id})`;
  const verdict = r.status === 'changed' ? (r.compatible ? 'compatible' : 'INCOMPATIBLE') : 'ok';
  return [r.subject, r.file, r.level, registered, r.status, verdict];
}

export const SUMMARY_HEADERS = ['SUBJECT', 'FILE', 'LEVEL', 'REGISTERED', 'STATUS', 'VERDICT'] as const;

/** Details of a changed subject: its change table, the reasons of each verdict, notes. */
export function reportDetails(r: SubjectReport): string {
  const parts = [`${r.subject} (${r.file}) against v${r.latest?.version ?? '?'}:`];
  parts.push(
    r.changes.length > 0 ? changeTable(r.changes, r.level) : '(no field-level changes; names or docs differ)',
  );
  if (r.registry !== undefined) {
    parts.push(
      `registry (${r.registry.level}): ${r.registry.compatible ? 'compatible' : 'incompatible'}` +
        r.registry.messages.map((m) => `\n  ${m}`).join(''),
    );
  }
  parts.push(
    `local (${r.level}): ${r.local.compatible ? 'compatible' : 'incompatible'}` +
      r.local.messages.map((m) => `\n  ${m}`).join(''),
  );
  for (const n of r.notes) parts.push(`note: ${n}`);
  return parts.join('\n');
}
