import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { OutgoingMessage } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import {
  X12EnvelopeChecker,
  build999,
  buildTa1,
  type AckParty,
  type InterchangeCheck,
  type InterchangeHeader,
  type TransactionSetRef,
} from '@ehrflow/x12';
import {
  fileKeyOf,
  interchangeDigest,
  quarantinedFile,
  rawSet,
  reasonOf,
  setDigest,
  type EnvelopeContext,
} from './envelopes.ts';
import { moveInto, writeAtomically, writeEncryptedCopy } from './files.ts';
import type { BillingMetrics } from './metrics.ts';
import type { ProgressStore } from './progress.ts';

/** Everything one file job needs. */
export interface JobDeps {
  readonly envelopes: EnvelopeContext;
  readonly store: ProgressStore;
  /** Writes transaction sets to `ehr.raw` in one Kafka transaction (acks=all). */
  readonly writeSets: (messages: readonly OutgoingMessage[]) => Promise<void>;
  /** Produces a quarantine record with acks=all. */
  readonly quarantine: (message: OutgoingMessage) => Promise<void>;
  readonly logger: Logger;
  readonly metrics?: BillingMetrics;
  readonly inboxDir: string;
  readonly outboxDir: string;
  readonly party: AckParty;
  readonly maxFileBytes: number;
  readonly maxSegmentBytes: number;
  readonly batchSets: number;
  /** Largest file whose encrypted bytes also go on the quarantine topic (the folder copy is always written). */
  readonly maxQuarantinePayloadBytes?: number;
  /** True once the service drains: the job stops between two batches, its checkpoint intact. */
  readonly stopping?: () => boolean;
}

/** How a file ended: `stopped` means left in the inbox to resume (drain), nothing lost. */
export interface JobResult {
  readonly outcome: 'accepted' | 'duplicate' | 'rejected' | 'stopped';
  readonly sets: number;
  readonly written: number;
  readonly duplicates: number;
  readonly reason?: string;
}

/** A short, PHI-free name for a file in logs: a digest prefix, never the sender's file name. */
export const shownName = (name: string): string =>
  `f:${createHash('sha256').update(name).digest('hex').slice(0, 10)}`;

/**
 * One file, one job. Pass 1 streams the file once to check the envelope and take its digest
 * (bounded memory: segments are looked at and dropped; one small record per transaction set is
 * kept). A refused file is refused whole: encrypted into `quarantine/` with its reason, a
 * quarantine record, a TA1/999 in the outbox, and only then the plaintext removed. An accepted
 * file is written in batches of transaction sets, each batch one Kafka transaction followed by
 * its checkpoint, so a restart resumes at the first set not yet checkpointed; sets whose identity
 * (sender, ISA13, GS06, ST02) is already known are not written again.
 */
export async function takeFile(deps: JobDeps, name: string): Promise<JobResult> {
  const { logger, envelopes: ctx } = deps;
  const path = join(deps.inboxDir, name);
  const shown = shownName(name);
  const size = (await stat(path)).size;
  if (size > deps.maxFileBytes) {
    const fileDigest = await digestOf(path);
    const reason = reasonOf({ kind: 'too_large', declared: deps.maxFileBytes, found: size });
    await reject(deps, {
      path,
      name,
      shown,
      fileDigest,
      reason,
      fieldPath: null,
      contract: false,
      check: undefined,
    });
    return { outcome: 'rejected', sets: 0, written: 0, duplicates: 0, reason };
  }
  const { check, fileDigest } = await checkFile(path, deps.maxSegmentBytes);
  if (check.problem !== undefined) {
    const reason = reasonOf(check.problem);
    const contract =
      check.problem.kind.endsWith('_mismatch') || check.problem.kind === 'set_control_duplicate';
    const fieldPath = check.problem.segment;
    await reject(deps, { path, name, shown, fileDigest, reason, fieldPath, contract, check });
    return { outcome: 'rejected', sets: check.sets.length, written: 0, duplicates: 0, reason };
  }
  const isa = check.header as InterchangeHeader;
  const fileKey = fileKeyOf(ctx, fileDigest);
  const ixDigest = interchangeDigest(ctx, isa);
  const progress = await deps.store.progress(fileKey);
  if (
    progress?.complete === true ||
    (progress === undefined && (await deps.store.interchangeSeen(ixDigest)))
  ) {
    // The same interchange again (a resend, or a copy under another name): nothing is written twice.
    await writeAcks(deps, check, fileDigest, true);
    await moveInto(path, join(deps.inboxDir, 'done'), name);
    await moveMarker(deps, name);
    deps.metrics?.files.inc({ outcome: 'duplicate' });
    deps.metrics?.sets.inc({ outcome: 'duplicate' }, check.sets.length);
    logger.info(
      { file: shown, sets: check.sets.length },
      'duplicate interchange: acknowledged, nothing written',
    );
    return { outcome: 'duplicate', sets: check.sets.length, written: 0, duplicates: check.sets.length };
  }
  let next = progress?.next ?? 0;
  if (next > 0)
    logger.info(
      { file: shown, resumeAt: next, sets: check.sets.length },
      'resuming file from its checkpoint',
    );
  let written = 0;
  let duplicates = 0;
  const handle = await open(path, 'r');
  try {
    const slice = async (start: number, end: number) => {
      const buf = Buffer.alloc(end - start);
      await handle.read(buf, 0, buf.length, start);
      return buf;
    };
    const isaBytes = await slice(isa.start, isa.end);
    const gsBytes = await Promise.all(check.groups.map((g) => slice(g.header.start, g.header.end)));
    while (next < check.sets.length) {
      if (deps.stopping?.() === true) {
        logger.info(
          { file: shown, next, sets: check.sets.length },
          'draining: file left in the inbox at its checkpoint',
        );
        return { outcome: 'stopped', sets: check.sets.length, written, duplicates };
      }
      const batch = check.sets.slice(next, next + deps.batchSets);
      const digests = batch.map((s) => setDigest(ctx, isa, groupOf(check, s), s));
      const known = await deps.store.seen(digests);
      const messages: OutgoingMessage[] = [];
      const fresh: string[] = [];
      for (const [i, set] of batch.entries()) {
        if (known[i] === true) {
          duplicates += 1;
          continue;
        }
        const payload = Buffer.concat([
          isaBytes,
          gsBytes[set.groupIndex] as Buffer,
          await slice(set.start, set.end),
        ]);
        messages.push(rawSet(ctx, payload, { isa, gs: groupOf(check, set), set, fileDigest }));
        fresh.push(digests[i] as string);
      }
      if (messages.length > 0) await deps.writeSets(messages);
      next += batch.length;
      await deps.store.commit(fileKey, next, fresh, next === check.sets.length);
      written += messages.length;
      deps.metrics?.sets.inc({ outcome: 'written' }, messages.length);
      deps.metrics?.sets.inc({ outcome: 'duplicate' }, batch.length - messages.length);
    }
    if (check.sets.length === 0) await deps.store.commit(fileKey, 0, [], true);
  } finally {
    await handle.close();
  }
  await deps.store.markInterchange(ixDigest);
  await writeAcks(deps, check, fileDigest, false);
  await moveInto(path, join(deps.inboxDir, 'done'), name);
  await moveMarker(deps, name);
  deps.metrics?.files.inc({ outcome: 'accepted' });
  logger.info({ file: shown, sets: check.sets.length, written, duplicates }, 'file taken in');
  return { outcome: 'accepted', sets: check.sets.length, written, duplicates };
}

function groupOf(check: InterchangeCheck, set: TransactionSetRef) {
  return (check.groups[set.groupIndex] as InterchangeCheck['groups'][number]).header;
}

async function digestOf(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 }))
    hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Pass 1: the envelope check and the content digest in one streaming read. */
async function checkFile(
  path: string,
  maxSegmentBytes: number,
): Promise<{ check: InterchangeCheck; fileDigest: string }> {
  const hash = createHash('sha256');
  const checker = new X12EnvelopeChecker({ maxSegmentBytes });
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
    hash.update(chunk as Buffer);
    checker.push(chunk as Buffer);
  }
  return { check: checker.finish(), fileDigest: hash.digest('hex') };
}

async function writeAcks(
  deps: JobDeps,
  check: InterchangeCheck,
  fileDigest: string,
  duplicate: boolean,
): Promise<void> {
  const base = `${check.header?.controlNumber ?? 'unknown'}-${fileDigest.slice(0, 12)}`;
  const ta1 = buildTa1(
    check,
    { party: deps.party, controlNumber: await deps.store.nextAckControl() },
    duplicate,
  );
  if (ta1 !== undefined) await writeAtomically(deps.outboxDir, `${base}.ta1`, ta1);
  if (duplicate) return;
  const ack = build999(check, { party: deps.party, controlNumber: await deps.store.nextAckControl() });
  if (ack !== undefined) await writeAtomically(deps.outboxDir, `${base}.999`, ack);
}

async function moveMarker(deps: JobDeps, name: string): Promise<void> {
  const marker = join(deps.inboxDir, `${name}.done`);
  if (
    !(await stat(marker).then(
      () => true,
      () => false,
    ))
  )
    return;
  await moveInto(marker, join(deps.inboxDir, 'done'), `${name}.done`).catch(() => undefined);
}

interface Refusal {
  readonly path: string;
  readonly name: string;
  readonly shown: string;
  readonly fileDigest: string;
  readonly reason: string;
  readonly fieldPath: string | null;
  readonly contract: boolean;
  readonly check: InterchangeCheck | undefined;
}

/**
 * A refused file: encrypted copy and reason in `quarantine/`, a quarantine record, the TA1/999,
 * and only then the plaintext removed — a crash before that leaves the file to be refused again.
 */
async function reject(deps: JobDeps, r: Refusal): Promise<void> {
  const { envelopes: ctx } = deps;
  const dir = join(deps.inboxDir, 'quarantine');
  const base = r.fileDigest.slice(0, 16);
  const copy = await writeEncryptedCopy(r.path, dir, `${base}.x12.enc`, ctx.keyring);
  await writeAtomically(
    dir,
    `${base}.reason.json`,
    `${JSON.stringify({ reason: r.reason, fieldPath: r.fieldPath, file: r.shown, at: new Date((ctx.now ?? Date.now)()).toISOString() })}\n`,
  );
  const size = (await stat(r.path)).size;
  const small = size <= (deps.maxQuarantinePayloadBytes ?? 512 * 1024);
  const bytes = small ? await readAll(r.path) : undefined;
  await deps.quarantine(
    quarantinedFile(ctx, bytes, {
      fileDigest: r.fileDigest,
      reason: r.reason,
      fieldPath: r.fieldPath,
      contract: r.contract,
      folderCopy: `quarantine/${base}.x12.enc`,
    }),
  );
  if (r.check !== undefined) await writeAcks(deps, r.check, r.fileDigest, false);
  await rm(r.path);
  await moveMarker(deps, r.name);
  deps.metrics?.files.inc({ outcome: 'rejected' });
  deps.logger.warn(
    { file: r.shown, reason: r.reason, quarantine: copy.slice(deps.inboxDir.length + 1) },
    'file refused whole: encrypted into quarantine/, plaintext removed',
  );
}

async function readAll(path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of createReadStream(path)) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}
