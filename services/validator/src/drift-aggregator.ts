import { createHash } from 'node:crypto';
import type { DriftEvent } from '@ehrflow/contracts';
import type { DriftObservation } from './drift-observation.ts';

export interface DriftAggregatorOptions {
  /** Least time between two events of the same drift after its first one. */
  readonly reportMs: number;
  /** Distinct drifts remembered; past it new drifts still count but are reported once each. Default 10 000. */
  readonly maxEntries?: number;
}

/**
 * Deduplicates drift per (source, resource type, field, kind): the first observation is reported
 * at the next `due()` (promptly), later ones only add to the count, reported at most once per
 * `reportMs` and only when the count changed. The event id is stable per drift, so a consumer of
 * `ehr.drift` keeps the latest event per id (an upsert of the running count).
 */
export interface DriftAggregator {
  /** Counts an observation; returns true when it is the first of its drift. */
  observe(observation: DriftObservation): boolean;
  /** Events to emit now: new drifts, and drifts whose count changed at least `reportMs` ago. */
  due(now: number): DriftEvent[];
  /** Every drift with a count not yet reported (for a final flush on shutdown). */
  pending(): DriftEvent[];
  /** Marks events as emitted (call after they are durably produced). */
  markEmitted(events: readonly DriftEvent[], now: number): void;
  readonly size: number;
}

interface Entry {
  readonly first: DriftObservation;
  last: DriftObservation;
  count: number;
  emittedCount: number;
  emittedAt: number | null;
}

export function driftKeyOf(
  o: Pick<DriftObservation, 'sourceId' | 'resourceType' | 'fieldPath' | 'kind'>,
): string {
  return [o.sourceId, o.resourceType, o.fieldPath ?? '', o.kind].join('\u0000');
}

export function createDriftAggregator(options: DriftAggregatorOptions): DriftAggregator {
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new Map<string, Entry>();

  const toEvent = (key: string, e: Entry): DriftEvent => ({
    eventId: createHash('sha256').update(key).digest('hex').slice(0, 32),
    kind: e.first.kind,
    sourceId: e.first.sourceId,
    resourceType: e.first.resourceType,
    schemaSubject: e.last.subject,
    schemaVersion: e.last.version,
    fieldPath: e.first.fieldPath,
    expectedType: e.last.expectedType,
    observedType: e.last.observedType,
    firstOffset: e.first.offset,
    firstSeenAt: e.first.at,
    count: e.count,
    observedFillRate: e.last.fillRate?.observed ?? null,
    expectedFillRate: e.last.fillRate?.expected ?? null,
    baselineFillRate: e.last.fillRate?.baseline ?? null,
    windowSize: e.last.fillRate?.records ?? null,
  });

  return {
    observe(observation) {
      const key = driftKeyOf(observation);
      const entry = entries.get(key);
      // A fill-rate event counts records of the windows that dropped, the others count records.
      const weight = observation.fillRate?.records ?? 1;
      if (entry !== undefined) {
        entry.count += weight;
        entry.last = observation;
        return false;
      }
      if (entries.size >= maxEntries) {
        // Forget the oldest reported drift; it is reported again (as new) if it recurs.
        for (const [k, e] of entries) {
          if (e.emittedAt !== null) {
            entries.delete(k);
            break;
          }
        }
      }
      entries.set(key, {
        first: observation,
        last: observation,
        count: weight,
        emittedCount: 0,
        emittedAt: null,
      });
      return true;
    },

    due(now) {
      const out: DriftEvent[] = [];
      for (const [key, e] of entries) {
        const isNew = e.emittedAt === null;
        const changed = e.count !== e.emittedCount;
        if (isNew || (changed && now - (e.emittedAt ?? 0) >= options.reportMs)) out.push(toEvent(key, e));
      }
      return out;
    },

    pending() {
      return [...entries].filter(([, e]) => e.count !== e.emittedCount).map(([key, e]) => toEvent(key, e));
    },

    markEmitted(events, now) {
      for (const event of events) {
        const e = entries.get(driftKeyOf(event));
        if (e === undefined) continue;
        e.emittedAt = now;
        e.emittedCount = Math.max(e.emittedCount, event.count);
      }
    },

    get size() {
      return entries.size;
    },
  };
}
