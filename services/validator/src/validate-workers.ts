import type { RawEnvelope } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import {
  createOrderedPool,
  asBuffer,
  slices,
  type OrderedPool,
  type OrderedPoolStats,
} from '@ehrflow/workers';
import type { ValidatorConfig } from './config.ts';
import type { ContractCache } from './contract-cache.ts';
import type { FillRateObserver, Outcome, RawInput } from './validate-record.ts';

/** A FHIR envelope for a worker (HL7 v2, X12 and undecodable records stay on the main thread). */
export type EnvelopeInput = Extract<RawInput, { envelope: RawEnvelope }>;

export interface ValidateTask {
  readonly inputs: readonly EnvelopeInput[];
}

/** An outcome as it crosses back: a valid one names its contract's type instead of holding it. */
export type WorkerOutcome =
  | (Omit<Extract<Outcome, { kind: 'valid' }>, 'contract'> & { readonly resourceType: string })
  | Exclude<Outcome, { kind: 'valid' }>;

export interface ValidateWorkerData {
  readonly config: ValidatorConfig;
}

export type ValidatePool = OrderedPool<ValidateTask, WorkerOutcome[]>;

/** Validation of FHIR envelopes on worker threads, outcomes in input order. */
export interface ValidateWorkers {
  readonly threads: number;
  /**
   * Validates on the workers and gives back one finisher per input, in input order; the caller
   * calls them in input order, which is when each valid record's fill rate is observed.
   * @throws PipelineError WORKER_FAILED or the code a task failed with (REGISTRY_UNAVAILABLE):
   *   the chunk is retried whole.
   */
  validate(inputs: readonly EnvelopeInput[]): Promise<(() => Promise<Outcome>)[]>;
  /** Resolves when every worker has its contracts (`OrderedPool.warmUp`). */
  warmUp(): Promise<void>;
  stats(): OrderedPoolStats;
  close(): Promise<void>;
}

export function createValidatePool(
  threads: number,
  config: ValidatorConfig,
  options: { readonly maxHeapMb?: number; readonly module?: URL } = {},
): ValidatePool {
  const data: ValidateWorkerData = { config };
  const { maxHeapMb } = options;
  return createOrderedPool<ValidateTask, WorkerOutcome[]>({
    filename: options.module ?? new URL('./validate-worker.ts', import.meta.url),
    threads,
    workerData: data,
    ...(maxHeapMb === undefined ? {} : { maxHeapMb }),
  });
}

/**
 * Validation on a pool of workers: a chunk's FHIR envelopes are cut into one contiguous slice per
 * worker, and the outcomes come back in input order (`createOrderedPool`). The main thread's
 * contract cache supplies each valid record's live contract (its topic and fill-rate windows).
 */
export function createValidateWorkers(
  pool: ValidatePool,
  deps: { readonly contracts: ContractCache; readonly fillRate: FillRateObserver },
): ValidateWorkers {
  const finish = async (w: WorkerOutcome, input: EnvelopeInput): Promise<Outcome> => {
    if (w.kind === 'deletion') return w;
    if (w.kind === 'quarantined') {
      return { ...w, value: { ...w.value, payload: asBuffer(w.value.payload) } };
    }
    const { resourceType, emptyFields, ...valid } = w;
    const active = await deps.contracts.forType(resourceType);
    // Sealed PHI values are never empty: the fill rate counts the fields that were `""` as empty.
    const view =
      emptyFields === undefined || emptyFields.length === 0
        ? valid.value
        : { ...valid.value, ...Object.fromEntries(emptyFields.map((name) => [name, ''])) };
    const drops = deps.fillRate.observe(active, view, input.position.offset);
    return { ...valid, contract: active, drift: [...valid.drift, ...drops] };
  };
  return {
    threads: pool.threads,
    async validate(inputs) {
      if (inputs.length === 0) return [];
      const parts = await pool.map(slices(inputs, pool.threads).map((part) => ({ inputs: part })));
      const outcomes = parts.flat();
      if (outcomes.length !== inputs.length) {
        throw new PipelineError('WORKER_FAILED', 'worker outcomes do not match the chunk', { context: {} });
      }
      return inputs.map((input, i) => () => finish(outcomes[i] as WorkerOutcome, input));
    },
    warmUp: () => pool.warmUp(),
    stats: () => pool.stats(),
    close: () => pool.close(),
  };
}
