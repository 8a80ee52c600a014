import { appendFile } from 'node:fs/promises';
import type { Alert, AlertSink } from './alert.ts';

/** Appends each alert as one JSON line to a file (`ALERT_FILE`), for local use and tests. */
export function createFileAlertSink(path: string): AlertSink {
  return {
    name: 'file',
    async send(alert: Alert) {
      await appendFile(path, `${JSON.stringify(alert)}\n`, 'utf8');
    },
  };
}
