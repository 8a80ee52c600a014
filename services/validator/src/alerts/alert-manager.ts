import { createHash } from 'node:crypto';
import { createScrubber, scrubDeep } from '@ehrflow/scrubber';
import type { Alert, AlertSignal, AlertSink } from './alert.ts';

/** Alerts keep operational ids (source, topic, subject, offsets) readable; everything else is scrubbed. */
const ALERT_SCRUBBER = createScrubber({ keepOperational: true });

export interface AlertManagerOptions {
  readonly sinks: readonly AlertSink[];
  /** Signals for one (source, resource type) arriving within this time go into one alert. */
  readonly gatherMs: number;
  /** At most one alert per (source, resource type) per window; the rest are counted as suppressed. */
  readonly windowMs: number;
  /** Told about a sink failure (the alert is lost for that sink, the manager keeps going). */
  readonly onSendError?: (err: unknown, sink: string) => void;
  readonly onSent?: (alert: Alert, sink: string) => void;
  /**
   * Shared with the other replicas (Redis): grants the key for the window to one of them, so N
   * replicas seeing the same drift send one alert. Without it the window is this process's own.
   */
  readonly claim?: (key: string, windowMs: number) => Promise<boolean>;
}

/**
 * Turns drift and quarantine signals into few, actionable alerts: signals about one (source,
 * resource type) are gathered for `gatherMs` and deduplicated per (kind, field, reason); then at
 * most one alert per key is sent per window. Every alert passes the PHI scrubber before any sink.
 */
export interface AlertManager {
  signal(signal: AlertSignal, now: number): void;
  /** Sends gathered alerts whose gather time is over (call periodically). */
  tick(now: number): Promise<void>;
  /** Sends every gathered alert now (on shutdown); rate limits still apply. */
  flush(now: number): Promise<void>;
  /** Alerts sent so far (all sinks count once), and alerts held back by the rate limit. */
  readonly counts: { sent: number; suppressed: number };
}

interface Group {
  readonly openedAt: number;
  readonly signals: Map<string, AlertSignal>;
}

export function createAlertManager(options: AlertManagerOptions): AlertManager {
  const pending = new Map<string, Group>();
  const lastSent = new Map<string, number>();
  const suppressedSince = new Map<string, number>();
  const counts = { sent: 0, suppressed: 0 };

  async function send(key: string, group: Group, now: number): Promise<void> {
    pending.delete(key);
    const last = lastSent.get(key);
    if (last !== undefined && now - last < options.windowMs) {
      suppressedSince.set(key, (suppressedSince.get(key) ?? 0) + 1);
      counts.suppressed += 1;
      return;
    }
    if (options.claim !== undefined && !(await options.claim(key, options.windowMs))) {
      suppressedSince.set(key, (suppressedSince.get(key) ?? 0) + 1);
      counts.suppressed += 1;
      return;
    }
    lastSent.set(key, now);
    const safe = buildAlert([...group.signals.values()], suppressedSince.get(key) ?? 0, now);
    suppressedSince.delete(key);
    counts.sent += 1;
    await Promise.all(
      options.sinks.map(async (sink) => {
        try {
          await sink.send(safe);
          options.onSent?.(safe, sink.name);
        } catch (err) {
          options.onSendError?.(err, sink.name);
        }
      }),
    );
  }

  return {
    counts,
    signal(signal, now) {
      const key = `${signal.sourceId}\u0000${signal.resourceType}`;
      let group = pending.get(key);
      if (group === undefined) {
        group = { openedAt: now, signals: new Map() };
        pending.set(key, group);
      }
      const signalKey = `${signal.kind}\u0000${signal.fieldPath ?? ''}\u0000${signal.reason ?? ''}`;
      const seen = group.signals.get(signalKey);
      group.signals.set(
        signalKey,
        seen === undefined
          ? signal
          : {
              ...signal,
              since: Math.min(seen.since, signal.since),
              count: Math.max(seen.count, signal.count),
            },
      );
    },
    async tick(now) {
      const ready = [...pending].filter(([, g]) => now - g.openedAt >= options.gatherMs);
      for (const [key, group] of ready) await send(key, group, now);
    },
    async flush(now) {
      for (const [key, group] of [...pending]) await send(key, group, now);
    },
  };
}

/**
 * Builds an alert and scrubs it. Times are ours (clock readings, not record values) and are added
 * after the scrub, which would otherwise take any ISO timestamp for a date of birth.
 */
function buildAlert(signals: readonly AlertSignal[], suppressed: number, now: number): Alert {
  const first = signals.reduce((a, b) => (b.since < a.since ? b : a));
  const withContract = signals.find((s) => s.subject !== null);
  const iso = (ms: number) => new Date(ms).toISOString();
  const records = Math.max(...signals.map((s) => s.count));
  const what = signals
    .map(
      (s) => `${s.kind}${s.reason ? `/${s.reason}` : ''}${s.fieldPath ? ` ${s.fieldPath}` : ''} (${s.count})`,
    )
    .join(', ');
  const scrubbed = scrubDeep(
    {
      sourceId: first.sourceId,
      resourceType: first.resourceType,
      contract: withContract?.subject ?? null,
      signals: signals.map((s) => ({
        kind: s.kind,
        fieldPath: s.fieldPath,
        reason: s.reason,
        count: s.count,
        firstOffset: s.firstOffset,
      })),
      summary: `source ${first.sourceId}, ${first.resourceType}${withContract ? ` (${withContract.subject} v${withContract.version})` : ''}: ${what}`,
    },
    { scrub: ALERT_SCRUBBER.scrub, scrubField: ALERT_SCRUBBER.scrubField },
  ) as Pick<Alert, 'sourceId' | 'resourceType' | 'contract' | 'summary'> & {
    signals: Omit<Alert['signals'][number], 'since'>[];
  };
  return {
    alertId: createHash('sha256')
      .update(`${first.sourceId}\u0000${first.resourceType}\u0000${first.since}`)
      .digest('hex')
      .slice(0, 32),
    sourceId: scrubbed.sourceId,
    resourceType: scrubbed.resourceType,
    contract: scrubbed.contract,
    contractVersion: withContract?.version ?? null,
    since: iso(first.since),
    records,
    signals: scrubbed.signals.map((s, i) => ({ ...s, since: iso(signals[i]?.since ?? first.since) })),
    suppressed,
    summary: `${scrubbed.summary}; since ${iso(first.since)}`,
    sentAt: iso(now),
  };
}
