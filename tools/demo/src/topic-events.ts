import type { Kafka } from '@ehrflow/kafka';
import type { Codec, DriftEvent, QuarantineRecord } from '@ehrflow/contracts';
import { readTopics } from '@ehrflow/pipeline-tools';

/** Drift events and quarantined records of a run, counted by kind and by reason. */
export interface RunEvents {
  readonly driftByKind: Record<string, number>;
  /** Drift events with their field, PHI-free (`Patient.birthDate missing_field x1200`). */
  readonly driftEvents: readonly string[];
  readonly quarantinedByReason: Record<string, number>;
  /** Distinct quarantined record ids. */
  readonly quarantinedRecords: number;
  /** Distinct quarantined record ids per source. */
  readonly quarantinedBySource: Record<string, number>;
}

/**
 * Reads `drift` and `quarantine` topics from `sinceMs` and keeps the records of the given sources.
 * A drift event is re-emitted with growing counts: the latest count per (source, type, field, kind) wins.
 */
export async function readRunEvents(
  kafka: Kafka,
  codec: Codec,
  topics: { readonly drift: string; readonly quarantine: string },
  sourceIds: ReadonlySet<string>,
  sinceMs: number,
): Promise<RunEvents> {
  const drift = new Map<string, DriftSummary>();
  const quarantined = new Map<string, { reason: string; sourceId: string }>();
  await readTopics(
    kafka,
    { topics: [topics.drift, topics.quarantine], sinceMs, timeoutMs: 60_000 },
    async (record) => {
      if (record.value === null) return;
      let decoded;
      try {
        decoded = await codec.decode(record.value);
      } catch {
        return;
      }
      if (record.topic === topics.drift) {
        const e = decoded.value as DriftEvent;
        // An HL7 drift names its feed: `<source>:<application>:<facility>:<message type>`.
        if (!sourceIds.has(e.sourceId) && !sourceIds.has(e.sourceId.split(':')[0] ?? '')) return;
        const key = `${e.sourceId}\0${e.resourceType}\0${e.fieldPath ?? ''}\0${e.kind}`;
        const prev = drift.get(key);
        const count = Number(e.count);
        if (prev === undefined || count > prev.count) {
          const field =
            e.fieldPath === null || e.fieldPath === undefined
              ? e.resourceType
              : e.fieldPath.startsWith(`${e.resourceType}.`)
                ? e.fieldPath
                : `${e.resourceType}.${e.fieldPath}`;
          drift.set(key, { sourceId: e.sourceId, field, kind: e.kind, count });
        }
      } else {
        const q = decoded.value as QuarantineRecord;
        if (sourceIds.has(q.sourceId))
          quarantined.set(q.recordId, { reason: q.reason, sourceId: q.sourceId });
      }
    },
  );
  const driftByKind: Record<string, number> = {};
  for (const d of drift.values()) driftByKind[d.kind] = (driftByKind[d.kind] ?? 0) + 1;
  const quarantinedByReason: Record<string, number> = {};
  const quarantinedBySource: Record<string, number> = {};
  for (const { reason, sourceId } of quarantined.values()) {
    quarantinedByReason[reason] = (quarantinedByReason[reason] ?? 0) + 1;
    quarantinedBySource[sourceId] = (quarantinedBySource[sourceId] ?? 0) + 1;
  }
  return {
    driftByKind,
    driftEvents: driftLines([...drift.values()]),
    quarantinedByReason,
    quarantinedRecords: quarantined.size,
    quarantinedBySource,
  };
}

export interface DriftSummary {
  readonly sourceId: string;
  readonly field: string;
  readonly kind: string;
  readonly count: number;
}

/**
 * One line per drifted field, except fill-rate drops, which come one line per source: a source
 * that fills many optional fields less often than the contract expects would otherwise bury the
 * renamed field under dozens of lines.
 */
export function driftLines(events: readonly DriftSummary[]): string[] {
  const lines = events
    .filter((d) => d.kind !== 'fill_rate_drop')
    .map((d) => `${d.sourceId} ${d.field} ${d.kind} x${d.count}`);
  const fillDrops = new Map<string, string[]>();
  for (const d of events.filter((e) => e.kind === 'fill_rate_drop'))
    fillDrops.set(d.sourceId, [...(fillDrops.get(d.sourceId) ?? []), d.field]);
  for (const [sourceId, fields] of fillDrops) {
    const sorted = [...new Set(fields)].sort();
    const shown = sorted.slice(0, 6).join(', ');
    lines.push(
      `${sourceId} fill_rate_drop on ${sorted.length} field(s) filled less often than expected: ${shown}${sorted.length > 6 ? ', …' : ''}`,
    );
  }
  return lines.sort();
}
