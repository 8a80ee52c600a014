import type { HttpClient, HttpLogger } from '@ehrflow/http';
import type { RetryPolicy } from '@ehrflow/resilience';
import type { OutgoingMessage } from '@ehrflow/kafka';
import type { Batch } from './batch.ts';
import type { JobProgress, RecordCounts } from './checkpoint.ts';
import type { EnvelopeContext } from './envelope.ts';
import type { JobCheckpoint, JobRecord } from './job-store.ts';
import type { SourceConfig } from './sources.ts';

/** Where envelopes go: resolves once Kafka has acknowledged every message (acks=all). */
export interface RecordSink {
  send(messages: readonly OutgoingMessage[]): Promise<void>;
}

/** Everything a job runner (export or incremental) needs; built by the job manager. */
export interface JobContext {
  /** The job as claimed (with the checkpoint it resumes from). */
  readonly job: JobRecord;
  readonly source: SourceConfig;
  readonly client: HttpClient;
  readonly envelope: EnvelopeContext;
  /** Aborts on cancel, shutdown or a lost lease. */
  readonly signal: AbortSignal;
  readonly retryPolicy: RetryPolicy;
  readonly batchSize: number;
  /**
   * Most bytes of resources in one export batch, whatever its count (a resource larger than
   * this goes in a batch of its own).
   */
  readonly batchMaxBytes: number;
  /** Age at which a batch is produced even if not full. */
  readonly batchLingerMs: number;
  readonly maxExportAttempts: number;
  readonly logger: HttpLogger;
  /**
   * Produces a batch and, once Kafka acknowledged it, lets `fold` add it (its counts, the new
   * position) to the checkpoint, which is then written with the batch's record ids (`part` says
   * where they were read) in one transaction. Folds and writes are serialised per job,
   * so checkpoints are written in order and never hold a record Kafka has not acknowledged.
   */
  commit(
    batch: Batch,
    fold: (progress: JobProgress | undefined, counts: RecordCounts) => JobProgress,
    part: number,
  ): Promise<void>;
  /**
   * Record ids a job has read are kept (per part: a file or a type) so that a resource listed
   * twice counts once, as a duplicate the second time. `commit` folds counts where repeats are
   * already moved from produced/deleted to `duplicates`; `forgetKeys` drops the keys of parts
   * that are read again from their start (or every key, without `parts`).
   */
  forgetKeys(parts?: readonly number[]): Promise<void>;
  /** Writes checkpoint fields other than progress (status URL, attempts) or a fresh progress. */
  save(data: JobCheckpoint): Promise<void>;
  /** Current progress as committed in this process. */
  progress(): JobProgress | undefined;
  /** Watermarks of the source per resource type, and their update after a type is fully synced. */
  watermarks(): Promise<Map<string, string>>;
  setWatermark(resourceType: string, instant: string): Promise<void>;
}
