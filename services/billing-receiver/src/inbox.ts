import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@ehrflow/logging';
import { createFolderPoller, type FolderPoller } from '@ehrflow/service';
import { shownName, type JobResult } from './job.ts';

/**
 * The watched folder. A file is taken once it is complete: its `<name>.done` marker exists, or
 * (unless markers are required) its size and mtime have not moved for `stableMs`. One file at a
 * time, in name order; a transient failure (Kafka, Redis) leaves the file for the next scan, and
 * the files after it wait for it, so a later file never overtakes an earlier one.
 */
export interface Inbox extends FolderPoller {
  /** Takes every complete file present now; resolves with how many ended (accepted, duplicate, rejected). */
  scan(): Promise<number>;
  /** Stops after the current batch of the current file (its checkpoint intact). */
  stop(): Promise<void>;
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

  /** `.done` markers present at the last listing. */
  let markers: ReadonlySet<string> = new Set();

  /** Candidates in name order; files that left the folder are forgotten. */
  async function list(): Promise<string[]> {
    const entries = await readdir(dir, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => e.name);
    markers = new Set(files.filter((n) => n.endsWith('.done')));
    const candidates = files
      .filter((n) => !n.startsWith('.') && options.suffixes.some((s) => n.toLowerCase().endsWith(s)))
      .sort();
    for (const name of seen.keys()) if (!candidates.includes(name)) seen.delete(name);
    return candidates;
  }

  return createFolderPoller({
    pollMs: options.pollMs,
    logger,
    folder: 'inbox',
    list,
    shown: shownName,
    take: async (name) => {
      if (!(await complete(name, markers))) return false;
      const result = await options.take(name);
      if (result.outcome === 'stopped') return false;
      seen.delete(name);
      return true;
    },
  });
}
