import { createHash } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import { X12EnvelopeChecker } from '@ehrflow/x12';
import { fileKeyOf, interchangeDigest, setDigest, type DigestContext } from './envelopes.ts';

/**
 * Where a file stands and which transaction sets are already on `ehr.raw`, shared by restarts and
 * replicas. Keys are keyed digests (HMAC of source, sender and control numbers), never ids or values.
 */
export interface ProgressStore {
  /** Transaction sets of the file already written, in order (0 when none); `complete` once all were. */
  progress(fileKey: string): Promise<{ next: number; complete: boolean } | undefined>;
  /** For each set digest, whether it was written before (within the window). */
  seen(digests: readonly string[]): Promise<boolean[]>;
  /** Records, after Kafka acknowledged them, sets written and how far the file got — in one step. */
  commit(fileKey: string, next: number, digests: readonly string[], complete: boolean): Promise<void>;
  /** Whether an interchange (sender + ISA13) was taken in before, and marking it. */
  interchangeSeen(digest: string): Promise<boolean>;
  markInterchange(digest: string): Promise<void>;
  /** A control number for our acknowledgments (1..999999999). */
  nextAckControl(): Promise<number>;
}

/** The Redis commands used (ioredis' `Redis` fits; unit tests pass a small fake). */
export interface ProgressRedis {
  get(key: string): Promise<string | null>;
  mget(...keys: string[]): Promise<(string | null)[]>;
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>;
  incr(key: string): Promise<number>;
  multi(): { set(key: string, value: string, px: 'PX', ms: number): unknown; exec(): Promise<unknown> };
}

export const PROGRESS_PREFIX = 'ehrflow:x12:';

const fileKey = (k: string) => `${PROGRESS_PREFIX}file:${k}`;
const setKey = (d: string) => `${PROGRESS_PREFIX}set:${d}`;
const ixKey = (d: string) => `${PROGRESS_PREFIX}ix:${d}`;

/**
 * The Redis keys that hold what the receiver remembers of a file: its checkpoint, the identities of
 * its transaction sets and of its interchange. Deleting them makes the receiver take the file again
 * from its first set (an operator resending a file on purpose; a test opening the crash window).
 */
export function billingProgressKeys(
  ctx: DigestContext,
  bytes: Buffer,
): { file: string; sets: string[]; interchange: string | undefined } {
  const checker = new X12EnvelopeChecker();
  checker.push(bytes);
  const check = checker.finish();
  const digest = createHash('sha256').update(bytes).digest('hex');
  const isa = check.header;
  return {
    file: fileKey(fileKeyOf(ctx, digest)),
    sets:
      isa === undefined
        ? []
        : check.sets.map((s) =>
            setKey(
              setDigest(ctx, isa, (check.groups[s.groupIndex] as (typeof check.groups)[number]).header, s),
            ),
          ),
    interchange: isa === undefined ? undefined : ixKey(interchangeDigest(ctx, isa)),
  };
}

const unavailable = (what: string) => (err: unknown) => {
  throw new PipelineError('REDIS_UNAVAILABLE', `${what} could not be reached in Redis`, { cause: err });
};

/** The Redis store: `file:<key>` → `next[:done]`, `set:<digest>`, `ix:<digest>`, all with the window as TTL. */
export function createRedisProgress(redis: ProgressRedis, sourceId: string, windowMs: number): ProgressStore {
  const [file, set, ix] = [fileKey, setKey, ixKey];
  return {
    async progress(fileKey) {
      const v = await redis.get(file(fileKey)).catch(unavailable('file checkpoint'));
      if (v === null) return undefined;
      const [next, flag] = v.split(':');
      return { next: Number(next), complete: flag === 'done' };
    },
    async seen(digests) {
      if (digests.length === 0) return [];
      const values = await redis.mget(...digests.map(set)).catch(unavailable('duplicate window'));
      return values.map((v) => v !== null);
    },
    async commit(fileKey, next, digests, complete) {
      const tx = redis.multi();
      for (const d of digests) tx.set(set(d), '1', 'PX', windowMs);
      tx.set(file(fileKey), complete ? `${next}:done` : String(next), 'PX', windowMs);
      await tx.exec().catch(unavailable('file checkpoint'));
    },
    async interchangeSeen(digest) {
      return (await redis.get(ix(digest)).catch(unavailable('duplicate window'))) !== null;
    },
    async markInterchange(digest) {
      await redis.set(ix(digest), '1', 'PX', windowMs).catch(unavailable('duplicate window'));
    },
    async nextAckControl() {
      const n = await redis.incr(`${PROGRESS_PREFIX}ack:${sourceId}`).catch(unavailable('ack counter'));
      return ((n - 1) % 999_999_999) + 1;
    },
  };
}
