import { appendFile } from 'node:fs/promises';
import type { Logger } from '@ehrflow/logging';

/** A rejected batch, named by sender and batch id (identifiers and counts only). */
export interface BatchAlert {
  readonly alertId: string;
  readonly kind: 'hl7_batch_rejected';
  readonly sourceId: string;
  readonly sendingApplication: string;
  readonly sendingFacility: string;
  readonly batchId: string;
  readonly reason: string;
  readonly position: string;
  readonly declared?: number;
  readonly found?: number;
  readonly summary: string;
  readonly at: string;
}

export interface AlertSink {
  send(alert: BatchAlert): Promise<void>;
}

/**
 * Alerts go to `ALERT_FILE` as JSON lines (the same sink file the validator writes, so one
 * watcher sees both) or, without one, to the log at warn.
 */
export function createAlertSink(options: {
  readonly file?: string;
  readonly logFallback: boolean;
  readonly logger: Logger;
}): AlertSink {
  const { file, logger } = options;
  return {
    async send(alert) {
      if (file !== undefined) {
        await appendFile(file, `${JSON.stringify(alert)}\n`, 'utf8');
      } else if (options.logFallback) {
        const { summary, ...fields } = alert;
        logger.warn(fields, summary);
      }
    },
  };
}
