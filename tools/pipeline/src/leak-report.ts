/**
 * What the leak scan found, in a form that is safe to print: where, which canary (by index) and
 * how — never the canary value or the text around it.
 */

/** Where a scanned item lives. */
export type LeakSource = 'log' | 'alert' | 'metrics' | 'kafka' | 'redis' | 'postgres';

/**
 * How a canary was found:
 * - `clear`: in readable text (a leak);
 * - `ciphertext`: inside the bytes of an encrypted field or payload (the encryption is broken);
 * - `decrypts-without-key`: an encrypted value opened with a key that is not the pipeline's.
 */
export type LeakKind = 'clear' | 'ciphertext' | 'decrypts-without-key';

export interface LeakHit {
  readonly source: LeakSource;
  /** PHI-free location: a file and line, `topic/partition@offset field`, a table and row number. */
  readonly location: string;
  /** Index of the canary in the list the scan was given. */
  readonly canary: number;
  readonly count: number;
  readonly kind: LeakKind;
}

/** Items looked at per source, so a scan that saw nothing cannot pass silently. */
export type ScannedCounts = Record<LeakSource, number>;

export interface LeakReport {
  readonly canaries: number;
  readonly hits: readonly LeakHit[];
  readonly scanned: ScannedCounts;
  /**
   * Canary matches inside encrypted values opened with the pipeline's own key (when the scan was
   * given it). Not leaks: a positive control that the canaries really went through the pipeline.
   */
  readonly protectedMatches: number;
  /** Encrypted values that were checked against a wrong key. */
  readonly encryptedValuesChecked: number;
  /** Sources that could not be scanned completely, with a PHI-free reason. */
  readonly incomplete: readonly string[];
}

export function emptyCounts(): ScannedCounts {
  return { log: 0, alert: 0, metrics: 0, kafka: 0, redis: 0, postgres: 0 };
}

/** Total canary matches across hits. */
export function hitCount(report: Pick<LeakReport, 'hits'>): number {
  return report.hits.reduce((sum, hit) => sum + hit.count, 0);
}

/** Whether the scan passed: no hit, and every source scanned completely. */
export function leakScanPassed(report: LeakReport): boolean {
  return report.hits.length === 0 && report.incomplete.length === 0;
}

/** Human-readable lines of a report (at most `maxHits` hit lines). */
export function formatLeakReport(report: LeakReport, maxHits = 50): string[] {
  const scanned = Object.entries(report.scanned)
    .map(([source, n]) => `${source} ${n}`)
    .join(', ');
  const lines = [
    `leak scan: ${report.canaries} canaries; scanned ${scanned}`,
    `  encrypted values checked against a wrong key: ${report.encryptedValuesChecked}; ` +
      `canary matches inside encrypted values (with the pipeline key): ${report.protectedMatches}`,
  ];
  for (const reason of report.incomplete) lines.push(`  INCOMPLETE ${reason}`);
  for (const hit of report.hits.slice(0, maxHits)) {
    lines.push(`  HIT canary #${hit.canary} x${hit.count} ${hit.kind} in ${hit.source}: ${hit.location}`);
  }
  if (report.hits.length > maxHits) lines.push(`  ... ${report.hits.length - maxHits} more hits`);
  lines.push(
    leakScanPassed(report)
      ? '  result: PASS (0 hits)'
      : `  result: FAIL (${report.hits.length} hit locations, ${hitCount(report)} matches)`,
  );
  return lines;
}
