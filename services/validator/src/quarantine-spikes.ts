import type { QuarantineRecord } from '@ehrflow/contracts';
import type { AlertSignal } from './alerts/alert.ts';

export interface SpikeOptions {
  /** Quarantined records per key within the window that make a spike. */
  readonly threshold: number;
  readonly windowMs: number;
}

/**
 * Counts quarantined records per (source, resource type, reason, field) in fixed windows and
 * reports a spike once per window when a count reaches the threshold.
 */
export interface QuarantineSpikes {
  /** Returns a signal when this record makes its key reach the threshold in the current window. */
  observe(record: QuarantineRecord, now: number): AlertSignal | undefined;
}

interface Window {
  start: number;
  count: number;
  firstOffset: string;
  since: number;
  total: number;
}

export function createQuarantineSpikes(options: SpikeOptions): QuarantineSpikes {
  const windows = new Map<string, Window>();
  return {
    observe(record, now) {
      const resourceType = record.resourceType ?? '(unknown)';
      const key = [record.sourceId, resourceType, record.reason, record.fieldPath ?? ''].join('\u0000');
      let w = windows.get(key);
      if (w === undefined) {
        w = { start: now, count: 0, firstOffset: record.sourceOffset, since: now, total: 0 };
        windows.set(key, w);
      } else if (now - w.start >= options.windowMs) {
        w.start = now;
        w.count = 0;
      }
      w.count += 1;
      w.total += 1;
      if (w.count !== options.threshold) return undefined;
      return {
        kind: 'quarantine_spike',
        sourceId: record.sourceId,
        resourceType,
        subject: record.schemaSubject,
        version: record.schemaVersion,
        fieldPath: record.fieldPath,
        reason: record.reason,
        since: w.since,
        count: w.total,
        firstOffset: w.firstOffset,
      };
    },
  };
}
