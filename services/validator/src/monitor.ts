import type { DriftEvent, QuarantineRecord } from '@ehrflow/contracts';
import type { Logger } from '@ehrflow/logging';
import type { AlertManager } from './alerts/alert-manager.ts';
import type { DriftAggregator } from './drift-aggregator.ts';
import type { DriftObservation } from './drift-observation.ts';
import { typeLabel, type ValidatorMetrics } from './metrics.ts';
import type { QuarantineSpikes } from './quarantine-spikes.ts';
import type { SharedDriftCount } from './replica.ts';

export interface MonitorOptions {
  readonly aggregator: DriftAggregator;
  readonly alerts: AlertManager;
  readonly spikes: QuarantineSpikes;
  readonly metrics?: ValidatorMetrics;
  /** Produces drift events durably (to `ehr.drift`); a failure keeps them pending for the next tick. */
  readonly emit: (events: readonly DriftEvent[]) => Promise<void>;
  readonly logger: Logger;
  /**
   * The drift counter the replicas share (see `createRedisDriftCounter`): each event then carries
   * the count of every replica, not this one's alone. Without it, counts are per replica.
   */
  readonly sharedCount?: SharedDriftCount;
  /** Period of the emit/alert loop; new drift goes out within one period. Default 500 ms. */
  readonly tickMs?: number;
  readonly now?: () => number;
}

/**
 * Everything the validator reports besides records: drift observations become deduplicated
 * drift events and metrics, first sightings and quarantine spikes become alerts. A timer emits
 * promptly and independently of record flow, so a drift is reported even if the stream stops.
 */
export interface Monitor {
  observeDrift(observations: readonly DriftObservation[]): void;
  observeQuarantine(record: QuarantineRecord): void;
  /** One emit/alert round (the timer calls it; tests may too). */
  tick(): Promise<void>;
  start(): void;
  /** Stops the timer and flushes pending drift events and alerts. */
  stop(): Promise<void>;
}

export function createMonitor(options: MonitorOptions): Monitor {
  const { aggregator, alerts, spikes, metrics, logger } = options;
  const now = options.now ?? Date.now;
  const tickMs = options.tickMs ?? 500;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  /** Per drift (event id): how much of this replica's count the shared counter already holds. */
  const added = new Map<string, number>();

  /**
   * The events with the count summed over the replicas: this replica adds what it counted since
   * its last addition and takes the total back. When the shared counter fails the event keeps the
   * local count and the addition waits for the next round (so nothing is added twice).
   */
  async function withSharedCounts(events: readonly DriftEvent[]): Promise<DriftEvent[]> {
    const share = options.sharedCount;
    if (share === undefined) return [...events];
    return Promise.all(
      events.map(async (event) => {
        const before = added.get(event.eventId) ?? 0;
        // The aggregator may have forgotten and restarted a drift: its count starts again.
        const delta = event.count >= before ? event.count - before : event.count;
        const total = await share(event.eventId, delta);
        if (total === undefined) return event;
        added.set(event.eventId, event.count);
        return { ...event, count: total };
      }),
    );
  }

  async function emit(events: readonly DriftEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await options.emit(await withSharedCounts(events));
      // Marked with the local counts: the aggregator compares them with what it counted.
      aggregator.markEmitted(events, now());
      for (const e of events) metrics?.driftEvents.inc({ kind: e.kind });
    } catch (err) {
      logger.warn({ err, events: events.length }, 'drift events not produced; retrying next tick');
    }
  }

  async function round(): Promise<void> {
    await emit(aggregator.due(now()));
    await alerts.tick(now());
  }

  const tick = (): Promise<void> => {
    // One round at a time: a slow sink must not stack rounds up.
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    observeDrift(observations) {
      for (const o of observations) {
        metrics?.drift.inc({ kind: o.kind, resource_type: typeLabel(o.resourceType) });
        if (!aggregator.observe(o)) continue;
        if (o.kind === 'baseline_needed') {
          // A notice, not drift: the drift event tells the steward; no alert.
          logger.warn(
            { kind: o.kind, sourceId: o.sourceId },
            'source has no accepted fill-rate baseline; run: npm run schemas -- baseline --source <id>',
          );
          continue;
        }
        logger.warn(
          {
            kind: o.kind,
            sourceId: o.sourceId,
            resourceType: o.resourceType,
            fieldPath: o.fieldPath,
            offset: o.offset,
          },
          'drift detected',
        );
        alerts.signal(
          {
            kind: o.kind,
            sourceId: o.sourceId,
            resourceType: o.resourceType,
            subject: o.subject,
            version: o.version,
            fieldPath: o.fieldPath,
            reason: null,
            since: o.at,
            count: 1,
            firstOffset: o.offset,
          },
          now(),
        );
      }
    },
    observeQuarantine(record) {
      metrics?.quarantined.inc({ reason: record.reason, resource_type: typeLabel(record.resourceType) });
      const spike = spikes.observe(record, now());
      if (spike !== undefined) alerts.signal(spike, now());
    },
    tick,
    start() {
      timer ??= setInterval(() => {
        tick().catch((err: unknown) => logger.error({ err }, 'monitor round failed'));
      }, tickMs);
    },
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await running;
      await emit(aggregator.pending());
      await alerts.flush(now());
    },
  };
}
