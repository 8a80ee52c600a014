import { mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { printableControlId } from '@ehrflow/hl7';
import type { Logger } from '@ehrflow/logging';
import { createFolderPoller, type FolderPoller } from '@ehrflow/service';
import type { Ingest } from './ingest.ts';

/**
 * Batch files dropped in a folder (`MLLP_DROP_DIR`): each `*.hl7` file is one block — a batch
 * file `FHS … FTS` or a single message — taken in exactly as an MLLP block is, then moved to
 * `done/` (written, or every message already known) or `rejected/` (quarantined whole). A file is
 * moved only after its outcome is durable, so a restart resumes by taking in again whatever is
 * still in the folder; the dedupe window makes that harmless for what was written before.
 * Senders must write under another name (`*.tmp`) and rename when complete: a file is read once.
 */
export interface FileDrop extends FolderPoller {
  /** Takes in every complete file present now; resolves with how many were handled. */
  scan(): Promise<number>;
}

export interface FileDropOptions {
  readonly dir: string;
  readonly ingest: Ingest;
  readonly logger: Logger;
  readonly pollMs: number;
  readonly maxBytes: number;
}

export function createFileDrop(options: FileDropOptions): FileDrop {
  const { dir, ingest, logger } = options;

  async function takeFile(name: string): Promise<void> {
    const path = join(dir, name);
    const shown = printableControlId(name);
    const bytes = await readFile(path);
    let target: 'done' | 'rejected' | undefined;
    if (bytes.length > options.maxBytes) {
      logger.warn(
        { file: shown, bytes: bytes.length, limit: options.maxBytes },
        'dropped file too large; moved to rejected/',
      );
      target = 'rejected';
    } else {
      const result = await ingest.take(bytes, `file ${shown}`);
      // A transient failure leaves the file where it is: the next scan tries again.
      if (result.outcome === 'transient') return;
      target = result.outcome === 'content-error' ? 'rejected' : 'done';
    }
    await mkdir(join(dir, target), { recursive: true });
    await rename(path, join(dir, target, name));
    logger.info({ file: shown, outcome: target }, 'dropped file taken in');
  }

  return createFolderPoller({
    pollMs: options.pollMs,
    logger,
    folder: 'drop folder',
    list: async () =>
      (await readdir(dir, { withFileTypes: true }))
        .filter((e) => e.isFile() && e.name.endsWith('.hl7'))
        .map((e) => e.name)
        .sort(),
    take: async (name) => {
      await takeFile(name);
      return true;
    },
    shown: printableControlId,
  });
}
