import { formatCount, formatLeakReport, formatTable } from '@ehrflow/pipeline-tools';
import type { DemoReport, JobReconciliation } from './run.ts';

interface ReconcileRowLike {
  readonly label?: string;
  readonly count?: number | null;
  readonly expected?: number | null;
  readonly gap?: number | null;
  readonly ok?: boolean;
}

/** The demo's closing report as terminal text. Counts, codes and ids only. */
export function formatDemoReport(r: DemoReport): string {
  const out: string[] = [];
  out.push(
    `== ehrflow demo ${r.runId}: ${r.sites} sites x ${r.patientsPerSite} patients, faults ${r.faults ? 'on' : 'off'}`,
  );
  out.push('');
  out.push('Reconciliation (services/loader reconcile, per job)');
  for (const rec of r.reconciliation) out.push(...formatReconciliation(rec));
  out.push(
    `  overall: served ${formatCount(r.served)} - quarantined ${formatCount(r.quarantined)} = expected ${formatCount(r.expectedLoaded)}; ` +
      `loaded ${formatCount(r.loaded)} -> ${r.reconciled ? 'RECONCILED' : 'GAP'}`,
  );
  out.push('');
  out.push(...formatHl7(r));
  out.push('');
  out.push(...formatBilling(r));
  out.push('');
  out.push('Production conditions');
  const sim = r.simulator;
  const rows = [
    ['what', 'count', 'from'],
    ['requests to the EHR', formatCount(num(sim.requests)), 'simulator'],
    ['429 answers', formatCount(num(sim.rateLimited)), 'simulator'],
    ['429s seen by the extractor', formatCount(r.extractor.throttled), 'extractor jobs'],
    ['retries', formatCount(r.extractor.retries), 'extractor jobs'],
    ['tokens issued', formatCount(num(sim.tokensIssued)), 'simulator'],
    ['token refreshes', formatCount(r.extractor.tokenRefreshes), 'extractor jobs'],
    ['connection resets injected', formatCount(num(sim.resetsInjected)), 'simulator'],
    ['drifted resources served', formatCount(num(sim.driftedResources)), 'simulator'],
  ];
  out.push(indent(formatTable(rows)));
  out.push('');
  out.push(...formatRates(r));
  out.push('');
  out.push('Drift and quarantine');
  if (r.events === null) out.push('  (not read)');
  else {
    out.push(`  drift events by kind: ${entries(r.events.driftByKind)}`);
    for (const e of r.events.driftEvents) out.push(`    ${e}`);
    out.push(
      `  quarantined records by reason: ${entries(r.events.quarantinedByReason)} (total ${r.events.quarantinedRecords})`,
    );
  }
  out.push('');
  out.push(...(r.leakScan === null ? ['leak scan: did not run'] : formatLeakReport(r.leakScan)));
  if (r.leakScan !== null && r.leakScan.hits.length > 0) {
    out.push(`  canary index -> field: ${r.canaryLabels.map((l, i) => `#${i} ${l}`).join(', ')}`);
  }
  out.push('');
  out.push(
    `Throughput: ${formatCount(r.loaded)} rows in ${(r.durationMs / 1000).toFixed(1)} s (${formatCount(r.loadedPerSecond)} rows/s, ` +
      `rate-limited extraction included)`,
  );
  for (const p of r.problems) out.push(`PROBLEM: ${p}`);
  out.push(r.passed ? 'RESULT: PASS (reconciled, 0 leak hits)' : 'RESULT: FAIL');
  return out.join('\n');
}

/** The HL7 feed: the identity in messages, the records they map to, what the senders met. */
function formatHl7(r: DemoReport): string[] {
  const h = r.hl7;
  if (h === null) return ['HL7 v2 feed: did not run'];
  const lines = [
    `HL7 v2 feed (${h.sourceId}, job ${h.jobId}): ${h.reconciled ? 'reconciled' : 'NOT reconciled'}`,
  ];
  const m = h.messages;
  const f = h.feed;
  lines.push(
    `  messages: received ${formatCount(h.received)} = ACKed ${formatCount(f?.acked)} = raw ${formatCount(m?.raw)} = ` +
      `valid ${formatCount(m?.valid)} + quarantined ${formatCount(m?.quarantined)}; clean ${formatCount(m?.clean)} = loaded ${formatCount(m?.loaded)}`,
  );
  if (h.records !== null)
    lines.push(
      `  records from the valid messages: valid ${formatCount(h.records.valid)} = clean ${formatCount(h.records.clean)} = loaded ${formatCount(h.records.loaded)} ` +
        `(the mapping makes ${formatCount(f?.expectedRecords)})`,
    );
  if (f !== null)
    lines.push(
      `  senders: ${formatCount(f.sent)} sent, ${formatCount(h.duplicates)} early resends answered again, ${formatCount(f.transientNaks)} transient NAKs, ` +
        `${formatCount(f.reconnects)} reconnects; batches: ${f.batchesAccepted} accepted whole, ${f.batchesRefused} refused whole (lying BTS-1, quarantined)`,
    );
  return lines;
}

/** The billing feed: the identity in transaction sets, refused files with reasons, acknowledgments. */
function formatBilling(r: DemoReport): string[] {
  const b = r.billing;
  if (b === null) return ['X12 billing feed: did not run'];
  const d = b.drop;
  const t = b.totals;
  const lines = [`X12 billing feed (${b.sourceId}): ${b.reconciled ? 'reconciled' : 'NOT reconciled'}`];
  lines.push(
    `  files: ${formatCount(d?.files)} dropped; ${formatCount(b.receiver.accepted)} taken in, ${formatCount(b.receiver.rejected)} refused whole, ` +
      `${formatCount(b.receiver.duplicates)} resent interchange answered without a write`,
  );
  lines.push(
    `  transaction sets: in ${formatCount(d?.setsIn)} = written ${formatCount(b.receiver.setsWritten)} = raw ${formatCount(t?.raw)} = ` +
      `valid ${formatCount(t?.valid)} + quarantined ${formatCount(t?.quarantined)}; clean ${formatCount(t?.clean)} = loaded ${formatCount(t?.loaded)}`,
  );
  lines.push(
    `  claims and payments loaded: ${formatCount(t?.loadedRecords)} (the valid sets hold ${formatCount(d?.expectedRecords)})`,
  );
  for (const f of b.refused) lines.push(`  refused (${f.fault}): ${f.reason}`);
  lines.push(`  acknowledgments written: ${b.acks.ta1} TA1, ${b.acks.ack999} 999`);
  return lines;
}

/** Granted rate converging: the configured limit is a ceiling, the EHR decides what it grants. */
function formatRates(r: DemoReport): string[] {
  const lines = ['Granted rate per source (requests/min; the configured limit is a ceiling, not a truth)'];
  if (r.rates.length === 0) return [...lines, '  (not read)'];
  const table = [['source', 'published', 'ceiling', 'granted at end', 'requests', '429s', '429 share']];
  for (const rate of r.rates) {
    const share = rate.requests === 0 ? 0 : rate.throttled / rate.requests;
    table.push([
      rate.sourceId,
      formatCount(rate.publishedPerMinute),
      formatCount(rate.ceilingPerMinute),
      rate.grantedPerMinute.toFixed(1),
      formatCount(rate.requests),
      formatCount(rate.throttled),
      `${(share * 100).toFixed(1)}%`,
    ]);
  }
  return [...lines, indent(formatTable(table))];
}

function formatReconciliation(rec: JobReconciliation): string[] {
  const result = rec.result as { rows?: unknown; notes?: unknown; job?: { state?: unknown } | null } | null;
  // The job's own state (completed / partial / failed / cancelled) beside the pipeline's verdict.
  const state = typeof result?.job?.state === 'string' ? `, job ${result.job.state}` : '';
  const lines = [
    `  job ${rec.jobId} (${rec.sourceId}${state}): ${rec.reconciled ? 'reconciled' : 'NOT reconciled'}`,
  ];
  const rows = Array.isArray(result?.rows) ? (result.rows as ReconcileRowLike[]) : [];
  if (rows.length > 0) {
    const table = [['stage', 'count', 'expected', 'gap', '']];
    for (const row of rows) {
      table.push([
        String(row.label ?? ''),
        formatCount(num(row.count)),
        row.expected === null ? '' : formatCount(num(row.expected)),
        row.gap === null || row.gap === undefined ? '' : String(row.gap),
        row.ok === false ? 'GAP' : 'ok',
      ]);
    }
    lines.push(indent(formatTable(table), '    '));
  }
  if (Array.isArray(result?.notes)) for (const note of result.notes) lines.push(`    note: ${String(note)}`);
  return lines;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function entries(record: Record<string, number>): string {
  const list = Object.entries(record);
  return list.length === 0 ? 'none' : list.map(([k, v]) => `${k} ${v}`).join(', ');
}

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}
