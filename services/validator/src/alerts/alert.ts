import type { DriftKind, QuarantineReason } from '@ehrflow/contracts';

/** What raised a signal: a drift kind, or a spike of quarantined records. */
export type SignalKind = DriftKind | 'quarantine_spike';

/** One piece of evidence for an alert. PHI-free: names, paths, counts, offsets and times. */
export interface AlertSignal {
  readonly kind: SignalKind;
  readonly sourceId: string;
  readonly resourceType: string;
  readonly subject: string | null;
  readonly version: number | null;
  readonly fieldPath: string | null;
  /** For quarantine spikes: the quarantine reason. */
  readonly reason: QuarantineReason | null;
  /** When the problem was first seen (epoch ms). */
  readonly since: number;
  /** Records concerned so far. */
  readonly count: number;
  readonly firstOffset: string | null;
}

/**
 * What a sink receives: enough for a steward to act — which source, which contract, which
 * fields, since when, how many records — and nothing of any record's content.
 */
export interface Alert {
  /** Stable for (source, resource type, first signal time): a receiver may deduplicate on it. */
  readonly alertId: string;
  readonly sourceId: string;
  readonly resourceType: string;
  readonly contract: string | null;
  readonly contractVersion: number | null;
  readonly since: string;
  /** Largest record count among the signals (signals about one record overlap). */
  readonly records: number;
  readonly signals: readonly {
    readonly kind: SignalKind;
    readonly fieldPath: string | null;
    readonly reason: QuarantineReason | null;
    readonly count: number;
    readonly since: string;
    readonly firstOffset: string | null;
  }[];
  /** Alerts for this key held back by the rate limit since the last one sent. */
  readonly suppressed: number;
  readonly summary: string;
  readonly sentAt: string;
}

/** Where alerts go. `send` may throw; the caller counts and logs the failure and carries on. */
export interface AlertSink {
  readonly name: string;
  send(alert: Alert): Promise<void>;
  close?(): Promise<void>;
}
