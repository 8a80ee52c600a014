import { appendFile } from 'node:fs/promises';
import type { JobFailureReason, JobState } from '@ehrflow/contracts';
import type { Logger } from '@ehrflow/logging';
import type { ErrorEntries } from './checkpoint.ts';

/**
 * An operator alert about a job that ended without all its data: a `partial` job (the source
 * reported error entries, or resources were too large for the raw topic). One per job, sent when
 * the job ends. PHI-free: ids, the state and reason, counts per resource type and issue code,
 * never server text.
 */
export interface JobAlert {
  /** `job:<jobId>:<state>`: stable, so a receiver may deduplicate on it. */
  readonly alertId: string;
  readonly kind: 'job_partial';
  readonly jobId: string;
  readonly sourceId: string;
  readonly state: JobState;
  readonly reason: JobFailureReason | null;
  readonly errorEntries: ErrorEntries | null;
  /** Resources left out as too large for the raw topic, per resource type; null when none. */
  readonly tooLarge: Readonly<Record<string, number>> | null;
  /** The types `POST /jobs/:id/retry-failed` would export again. */
  readonly retryTypes: readonly string[];
  readonly summary: string;
  readonly sentAt: string;
}

/** Where job alerts go. `send` may throw; the job manager logs the failure and carries on. */
export interface JobAlertSink {
  send(alert: JobAlert): Promise<void>;
}

/**
 * Alerts as JSON lines appended to `file` (`ALERT_FILE`, the file the validator's alerts go to in
 * a local deployment), or, without a file, as a warning log line.
 */
export function createJobAlertSink(file: string | undefined, logger: Logger): JobAlertSink {
  return {
    async send(alert) {
      if (file === undefined) {
        logger.warn({ alert }, 'job alert');
        return;
      }
      await appendFile(file, `${JSON.stringify(alert)}\n`, 'utf8');
    },
  };
}

/** The alert of a job that ended partial. */
export function partialJobAlert(
  job: { readonly id: string; readonly sourceId: string; readonly reason: JobFailureReason | null },
  errorEntries: ErrorEntries | null,
  tooLarge: Readonly<Record<string, number>> | null,
  retryTypes: readonly string[],
  now: number,
): JobAlert {
  const entries = sumByType(errorEntries?.byType);
  const large = sumByType(tooLarge);
  const causes = [
    ...(entries > 0 ? [`the source reported ${plural(entries, 'error entry', 'error entries')}`] : []),
    ...(large > 0
      ? [
          `${plural(large, 'resource was', 'resources were')} larger than the raw topic takes (EXTRACTOR_MAX_RESOURCE_BYTES)`,
        ]
      : []),
  ];
  return {
    alertId: `job:${job.id}:partial`,
    kind: 'job_partial',
    jobId: job.id,
    sourceId: job.sourceId,
    state: 'partial',
    reason: job.reason,
    errorEntries,
    tooLarge,
    retryTypes,
    summary: `job ${job.id} of source ${job.sourceId} ended partial: ${causes.join('; ') || 'no cause recorded'} (${retryTypes.join(', ') || 'no type'}); POST /jobs/${job.id}/retry-failed exports them again`,
    sentAt: new Date(now).toISOString(),
  };
}

/** The total of per-type counts (0 for none). */
export function sumByType(counts: Readonly<Record<string, number>> | null | undefined): number {
  return Object.values(counts ?? {}).reduce((a, b) => a + b, 0);
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
