import type { Logger } from '@ehrflow/logging';
import { createPoller } from '@ehrflow/resilience';

/**
 * A folder taken in file by file at every poll: the X12 receiver's inbox and the MLLP receiver's
 * drop folder. One file at a time, in the order `list` gives; a file whose `take` throws (a
 * transient failure: Kafka, the registry or Redis away) is logged and stays, and the scan ends
 * there: the files after it wait for the next scan, so a later file — a resend of it, say, which
 * the duplicate check would then let win — never overtakes it.
 */
export interface FolderPoller {
  /** Takes in every file `list` names now; resolves with how many `take` counted. */
  scan(): Promise<number>;
  start(): void;
  /** Stops after the file in progress. */
  stop(): Promise<void>;
  readonly stopping: boolean;
}

export interface FolderPollerOptions {
  readonly pollMs: number;
  readonly logger: Logger;
  /** The folder as log lines name it (`inbox`, `drop folder`). */
  readonly folder: string;
  /** The files to take in at this scan, in order. */
  readonly list: () => Promise<readonly string[]>;
  /** Takes one file in; false when it stays for a later scan (not counted). */
  readonly take: (name: string) => Promise<boolean>;
  /** A file name as a log line may show it. */
  readonly shown: (name: string) => string;
}

export function createFolderPoller(options: FolderPollerOptions): FolderPoller {
  const { folder, logger } = options;

  async function scan(): Promise<number> {
    let taken = 0;
    for (const name of await options.list()) {
      if (poller.stopped) break;
      try {
        if (await options.take(name)) taken += 1;
      } catch (err) {
        logger.error(
          { err, file: options.shown(name) },
          `${folder}: file could not be taken in; will retry it before the files after it`,
        );
        break;
      }
    }
    return taken;
  }

  const poller = createPoller({
    pollMs: options.pollMs,
    task: scan,
    onError: (err) => logger.error({ err }, `${folder} scan failed; will retry`),
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
