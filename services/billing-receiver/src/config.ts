import {
  booleanFlag,
  nonNegativeInt,
  pipelineEnv,
  positiveInt,
  receiverStageEnv,
  sourceId,
  z,
} from '@ehrflow/config';

/**
 * Environment of the billing receiver: the shared pipeline settings, Redis for checkpoints and the
 * duplicate window, and the folders of the file drop.
 */
export const billingEnv = z.object({
  ...pipelineEnv,
  REDIS_URL: z.string().min(1),
  /** Source id written on every envelope (one deployment per trading partner or clearinghouse feed). */
  X12_SOURCE_ID: sourceId,
  /** The watched folder; `done/` and `quarantine/` are created inside it. */
  X12_INBOX_DIR: z.string().min(1),
  /** Where TA1 and 999 acknowledgments are written (one file each per interchange). */
  X12_OUTBOX_DIR: z.string().min(1),
  /** File names taken in, by suffix. */
  X12_SUFFIXES: z.string().default('.x12,.edi,.837,.835'),
  X12_POLL_MS: positiveInt(1_000),
  /** A file is read once its size and mtime have not moved for this long (or its `.done` marker exists). */
  X12_STABLE_MS: nonNegativeInt(2_000),
  /** Take a file only when `<name>.done` exists beside it (senders that write a marker when complete). */
  X12_REQUIRE_MARKER: booleanFlag(false),
  /** Largest file taken in; larger ones are quarantined (encrypted) unread. */
  X12_MAX_FILE_BYTES: positiveInt(256 * 1024 * 1024),
  /** Largest segment; a longer one refuses the file (bounded memory while reading). */
  X12_MAX_SEGMENT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024),
  /** Transaction sets per Kafka transaction (and per checkpoint). */
  X12_BATCH_SETS: positiveInt(200),
  ...receiverStageEnv('X12', 30 * 24 * 3_600_000),
  /** Our ISA05/ISA06 and GS02 in acknowledgments. */
  X12_ACK_QUALIFIER: z
    .string()
    .regex(/^[A-Z0-9]{2}$/)
    .default('ZZ'),
  X12_ACK_ID: z
    .string()
    .regex(/^[A-Za-z0-9 ]{1,15}$/)
    .default('EHRFLOW'),
});

export type BillingConfig = z.infer<typeof billingEnv>;
