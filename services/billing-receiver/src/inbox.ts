import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@ehrflow/logging';
import { createPoller } from '@ehrflow/resilience';
import { shownName, type JobResult } from './job.ts';

/**
 * The watched folder. A file is taken once it is complete: its `<name>.done` marker exists, or
 * (unless markers are required) its size and mtime have not moved for `stableMs`. One file at a
 * time, in name order; a transient failure (Kafka, Redis) leaves the file for the next scan, and
 * the files after it wait for it, so a later file never overtakes an earlier one.
 */
export interface Inbox {
  /** Takes every complete file present now; resolves with how many ended (accepted, duplicate, rejected). */
  scan(): Promise<number>;
  start(): void;
  /** Stops after the current batch of the current file (its checkpoint intact). */
  stop(): Promise<void>;
  readonly stopping: boolean;
}

export interface InboxOptions {
  readonly dir: string;
  readonly suffixes: readonly string[];
  readonly pollMs: number;
  readonly stableMs: number;
  readonly requireMarker: boolean;
  readonly take: (name: string) => Promise<JobResult>;
  readonly logger: Logger;
  readonly now?: () => number;
}

export function createInbox(options: InboxOptions): Inbox {
  const { dir, logger } = options;
  const now = options.now ?? Date.now;
  /** Last size/mtime seen per file and since when it has not moved. */
  const seen = new Map<string, { size: number; mtimeMs: number; since: number }>();

  async function complete(name: string, markers: ReadonlySet<string>): Promise<boolean> {
    if (markers.has(`${name}.done`)) return true;
    if (options.requireMarker) return false;
    const s = await stat(join(dir, name)).catch(() => undefined);
    if (s === undefined) return false;
    const last = seen.get(name);
    if (last === undefined || last.size !== s.size || last.mtimeMs !== s.mtimeMs) {
      seen.set(name, { size: s.size, mtimeMs: s.mtimeMs, since: now() });
      return options.stableMs === 0 && last !== undefined;
    }
    return now() - last.since >= options.stableMs;
  }

  async function scan(): Promise<number> {
    const entries = await readdir(dir, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => e.name);
    const markers = new Set(files.filter((n) => n.endsWith('.done')));
    const candidates = files
      .filter((n) => !n.startsWith('.') && options.suffixes.some((s) => n.toLowerCase().endsWith(s)))
      .sort();
    for (const name of seen.keys()) if (!candidates.includes(name)) seen.delete(name);
    let ended = 0;
    for (const name of candidates) {
      if (poller.stopped) break;
      if (!(await complete(name, markers))) continue;
      try {
        const result = await options.take(name);
        if (result.outcome !== 'stopped') {
          ended += 1;
          seen.delete(name);
        }
      } catch (err) {
        // The files after it wait: taken before it, a resend of it (same sender and ISA13) would
        // win the duplicate check and the original be acknowledged as the duplicate.
        logger.error(
          { err, file: shownName(name) },
          'file could not be taken in; will retry it before the next',
        );
        break;
      }
    }
    return ended;
  }

  const poller = createPoller({
    pollMs: options.pollMs,
    task: scan,
    onError: (err) => logger.error({ err }, 'inbox scan failed; will retry'),
    fallback: 0,
  });

  return {
    scan: () => poller.run(),
    start: () => poller.start(),
    stop: () => poller.stop(),
    get stopping() {
      return poller.stopped;
    },
  };
}
