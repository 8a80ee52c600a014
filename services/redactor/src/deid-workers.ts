import type { DirectoryStep, PlainRecord, Policy } from '@ehrflow/deid';
import type { ErrorCode } from '@ehrflow/errors';
import { createOrderedPool, slices, type OrderedPool, type OrderedPoolStats } from '@ehrflow/workers';

/** One decrypted record for a worker, with what the directory knew of its patient at its turn. */
export interface DeidJob {
  readonly type: string;
  readonly plain: PlainRecord;
  readonly step: DirectoryStep | undefined;
}

/** A clean record, or the code and field path of why de-identification refused it. */
export type DeidResult =
  | { readonly clean: Record<string, unknown>; readonly refused?: undefined }
  | { readonly refused: { readonly code: ErrorCode; readonly fieldPath: string | null } };

export interface DeidTask {
  /** The clock of the chunk (age caps), from the main thread. */
  readonly now: number;
  readonly jobs: readonly DeidJob[];
}

export interface DeidReply {
  readonly results: readonly DeidResult[];
  /** One `[type, reason]` per free-text value withheld (the metric). */
  readonly withheld: readonly (readonly [string, string])[];
}

export interface DeidWorkerData {
  readonly policy: Policy;
  readonly contracts: readonly { readonly type: string; readonly json: unknown; readonly label: string }[];
  readonly pseudonymKey: Uint8Array;
  /** Whether the main thread has a patient directory (otherwise no patient is ever known). */
  readonly directory: boolean;
}

/** De-identification on worker threads, results in record order. */
export interface DeidWorkers {
  readonly threads: number;
  /** @throws PipelineError WORKER_FAILED (or the code a task failed with): the chunk is retried whole. */
  deidentify(jobs: readonly DeidJob[]): Promise<DeidResult[]>;
  /** Resolves when every worker has compiled the policy (`OrderedPool.warmUp`). */
  warmUp(): Promise<void>;
  stats(): OrderedPoolStats;
  close(): Promise<void>;
}

export interface DeidWorkersOptions {
  readonly threads: number;
  readonly policy: Policy;
  /** The valid contracts the policy was compiled with, as registered (JSON) and labelled. */
  readonly contracts: DeidWorkerData['contracts'];
  readonly pseudonymKey: Buffer;
  readonly directory: boolean;
  readonly now?: () => Date;
  readonly onFreeTextWithheld?: (type: string, reason: string) => void;
  /** Heap limit of each worker, in MB. */
  readonly maxHeapMb?: number;
}

/** The pool behind `DeidWorkers`: one per process (tests share one between handlers). */
export type DeidPool = OrderedPool<DeidTask, DeidReply>;

/**
 * Starts `threads` workers running `deid-worker.ts`, each compiling the policy over the valid
 * contracts it is given (plain data: the policy and the registered schemas' JSON).
 */
export function createDeidPool(
  options: Pick<
    DeidWorkersOptions,
    'threads' | 'policy' | 'contracts' | 'pseudonymKey' | 'directory' | 'maxHeapMb'
  >,
): DeidPool {
  const data: DeidWorkerData = {
    policy: options.policy,
    contracts: options.contracts,
    pseudonymKey: new Uint8Array(options.pseudonymKey),
    directory: options.directory,
  };
  return createOrderedPool<DeidTask, DeidReply>({
    filename: new URL('./deid-worker.ts', import.meta.url),
    threads: options.threads,
    workerData: data,
    ...(options.maxHeapMb === undefined ? {} : { maxHeapMb: options.maxHeapMb }),
  });
}

/**
 * De-identification on a pool of workers. A chunk is cut into one contiguous slice per worker;
 * the slices' results are put back in record order (`createOrderedPool`), so the outputs, and the
 * offsets committed after them, are in input order per partition.
 */
export function createDeidWorkers(
  options: DeidWorkersOptions,
  pool: DeidPool = createDeidPool(options),
): DeidWorkers {
  const now = options.now ?? (() => new Date());
  return {
    threads: pool.threads,
    async deidentify(jobs) {
      if (jobs.length === 0) return [];
      const at = now().getTime();
      const replies = await pool.map(slices(jobs, pool.threads).map((part) => ({ now: at, jobs: part })));
      const out: DeidResult[] = [];
      for (const reply of replies) {
        out.push(...reply.results);
        for (const [type, reason] of reply.withheld) options.onFreeTextWithheld?.(type, reason);
      }
      return out;
    },
    warmUp: () => pool.warmUp(),
    stats: () => pool.stats(),
    close: () => pool.close(),
  };
}
