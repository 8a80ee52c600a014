import { KIND_HEADER, type QuarantineReason } from '@ehrflow/contracts';
import type { Deidentifier, PlainRecord } from '@ehrflow/deid';
import { PipelineError, isProgrammerError } from '@ehrflow/errors';
import type { BatchHandler, InputRecord, Output, QuarantineHook } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import type { Keyring } from '@ehrflow/phi';
import type { CleanPlan } from './clean-schemas.ts';
import type { RedactorTopics } from './config.ts';
import type { Decryptor } from './decrypt.ts';
import type { DeidJob, DeidResult, DeidWorkers } from './deid-workers.ts';
import type { DeletionPlan, DeletionRedactor } from './deletions.ts';
import { typeLabel, type RedactorMetrics } from './metrics.ts';
import { quarantineRecord, reasonOf, type RedactorOrigin } from './quarantine.ts';

export interface RedactHandlerDeps {
  readonly plan: CleanPlan;
  readonly topics: RedactorTopics;
  readonly deidentifier: Deidentifier;
  /** One per resource type of the plan. */
  readonly decryptors: ReadonlyMap<string, Decryptor>;
  /** Where deletions come from and go to, and how their logical ids are pseudonymised. */
  readonly deletions: { readonly plan: DeletionPlan; readonly redactor: DeletionRedactor };
  /** Seals quarantined payloads. */
  readonly ring: Keyring;
  readonly logger: Logger;
  readonly metrics?: RedactorMetrics;
  readonly now?: () => number;
  /**
   * The shared patient directory the deidentifier uses, when there is one: the batch's patients
   * are prefetched before de-identification and the Patients it saw are stored after it.
   */
  readonly directory?: BatchDirectory;
  /**
   * Worker threads for the de-identification step (REDACTOR_WORKERS > 0); inline when absent.
   * Decryption and the directory stay on this thread, in record order.
   */
  readonly workers?: DeidWorkers;
}

/** The batch hooks of a shared patient directory (`SharedPatientDirectory`). */
export interface BatchDirectory {
  prefetch(subjects: Iterable<string>): Promise<void>;
  flush(): Promise<void>;
}

/** A record that decoded and decrypted, waiting for de-identification. */
interface Ready {
  readonly type: string;
  readonly plain: PlainRecord;
  readonly origin: RedactorOrigin;
  readonly key: string;
  readonly cleanTopic: string;
}

export interface RedactHandler {
  /** Turns a chunk of valid records into clean records (and quarantine records for refusals). */
  readonly handler: BatchHandler;
  /** For the runner: a clean record the registered clean schema refuses goes to quarantine. */
  readonly onQuarantine: QuarantineHook;
}

/**
 * The redactor's batch handler: decode check, decrypt the PHI fields, de-identify under the
 * compiled policy, produce to `ehr.clean.<Type>` with the same Kafka key (a pseudonym). Records of
 * `ehr.valid.deletions` go to `ehr.clean.deletions`, their logical id pseudonymised exactly as the
 * upserts' (see `createDeletionRedactor`).
 *
 * A record that is the problem (undecodable, a key the ring lacks, a value its method cannot
 * process, a clean record its schema refuses) is quarantined with a PHI-free reason and the run
 * goes on; anything else (registry, broker or Redis trouble, a bug) is thrown, so the chunk is
 * retried or the runner stops, and no offset moves past an unprocessed record.
 *
 * A chunk goes in three steps: decrypt every record; prefetch the shared directory for their
 * patients and de-identify; store the digests of the Patients just seen. Free text of a record
 * whose patient is still unknown is withheld by the deidentifier.
 */
export function createRedactHandler(deps: RedactHandlerDeps): RedactHandler {
  const now = deps.now ?? Date.now;
  /** Clean outputs → where they came from, for the encode-time quarantine hook. */
  const origins = new WeakMap<Output, RedactorOrigin>();

  const quarantine = (
    origin: RedactorOrigin,
    err: PipelineError,
    reason: QuarantineReason,
    key: string,
  ): Output => {
    const type = origin.resourceType;
    const deletions = deps.deletions.plan;
    const plan =
      origin.position.topic === deletions.validTopic
        ? {
            cleanSubject: deletions.cleanSubject,
            valid: { subject: deletions.validSubject, version: deletions.validVersion },
          }
        : type === null
          ? undefined
          : deps.plan.types.get(type);
    // A clean record its schema refused names the clean subject; anything else the valid contract.
    const cleanVersion = typeof err.context.version === 'number' ? err.context.version : null;
    const subject =
      plan === undefined
        ? undefined
        : reason === 'schema_mismatch'
          ? { subject: plan.cleanSubject, version: cleanVersion }
          : { subject: plan.valid.subject, version: plan.valid.version };
    const value = quarantineRecord(origin, err, reason, subject, deps.ring, now());
    deps.metrics?.quarantined.inc({ reason, resource_type: typeLabel(type) });
    deps.metrics?.records.inc({ outcome: 'quarantined', resource_type: typeLabel(type) });
    deps.logger.warn(
      {
        topic: origin.position.topic,
        partition: origin.position.partition,
        offset: origin.position.offset,
        recordId: value.recordId,
        reason,
        code: err.code,
        fieldPath: value.fieldPath,
      },
      'record quarantined by the redactor',
    );
    return { topic: deps.topics.quarantine, key, value };
  };

  const quarantineError = (origin: RedactorOrigin, err: unknown, key: string): Output => {
    if (isProgrammerError(err)) throw err;
    const reason = reasonOf(err);
    if (reason === undefined || !(err instanceof PipelineError)) throw err;
    return quarantine(origin, err, reason, key);
  };

  /** Checks and decrypts one record: a quarantine output, or a record ready to de-identify. */
  /**
   * What every input record goes through first: its position and key, and a quarantine output
   * when it did not decode or is not a record; otherwise its value and origin.
   */
  const open = (
    record: InputRecord,
    typeOf: (value: Readonly<Record<string, unknown>> | undefined) => string | null,
  ):
    | { readonly rejected: Output }
    | {
        readonly rejected?: undefined;
        readonly value: Readonly<Record<string, unknown>>;
        readonly origin: RedactorOrigin;
        readonly key: string;
      } => {
    const position = { topic: record.topic, partition: record.partition, offset: record.offset };
    const key = record.key ?? `${record.topic}/${record.partition}/${record.offset}`;
    if (record.decodeError !== undefined) {
      const origin = { position, resourceType: typeOf(undefined), value: undefined, raw: record.raw };
      return { rejected: quarantine(origin, record.decodeError, 'parse_error', key) };
    }
    const value = asRecord(record.value);
    const origin: RedactorOrigin = { position, resourceType: typeOf(value), value, raw: null };
    if (value === undefined) {
      const err = new PipelineError(
        'PARSE_ERROR',
        `record at ${record.topic}/${record.partition}@${record.offset} is not a record`,
        { context: { ...position } },
      );
      return { rejected: quarantine(origin, err, 'parse_error', key) };
    }
    return { value, origin, key };
  };

  const prepare = (record: InputRecord): Output | Ready => {
    const type = typeOfTopic(record.topic, deps.topics.validPrefix);
    const opened = open(record, () => type);
    if (opened.rejected !== undefined) return opened.rejected;
    const { value, origin, key } = opened;
    const plan = type === null ? undefined : deps.plan.types.get(type);
    const decrypt = type === null ? undefined : deps.decryptors.get(type);
    if (type === null || plan === undefined || decrypt === undefined) {
      const err = new PipelineError(
        'UNKNOWN_RESOURCE_TYPE',
        `topic ${record.topic} is not a valid topic this redactor serves`,
        {
          context: { topic: record.topic },
        },
      );
      return quarantine(origin, err, 'unknown_resource_type', key);
    }
    try {
      return { type, plain: decrypt(value), origin, key, cleanTopic: plan.cleanTopic };
    } catch (err) {
      return quarantineError(origin, err, key);
    }
  };

  /**
   * A record of the deletions topic: its logical id decrypted and pseudonymised with the type's
   * logicalId rule, to the clean deletions topic with the same key; or a quarantine record.
   */
  const redactDeletion = (record: InputRecord): Output => {
    const opened = open(record, (value) =>
      typeof value?.resourceType === 'string' && RESOURCE_TYPE.test(value.resourceType)
        ? value.resourceType
        : null,
    );
    if (opened.rejected !== undefined) return opened.rejected;
    const { value, origin, key } = opened;
    try {
      const clean = deps.deletions.redactor.redact(value);
      const output: Output = {
        topic: deps.deletions.plan.cleanTopic,
        key,
        value: clean,
        headers: { [KIND_HEADER]: 'DELETE' },
      };
      origins.set(output, origin);
      deps.metrics?.records.inc({ outcome: 'deletion', resource_type: clean.resourceType });
      return output;
    } catch (err) {
      return quarantineError(origin, err, key);
    }
  };

  /**
   * Clean records per resource type since the last `flushCounts`: the counter is incremented once
   * per type and batch, not per record (each increment checks and hashes its labels).
   */
  const cleanCounts = new Map<string, number>();
  const countClean = (type: string): void => {
    if (deps.metrics !== undefined) cleanCounts.set(type, (cleanCounts.get(type) ?? 0) + 1);
  };
  const flushCounts = (): void => {
    for (const [type, n] of cleanCounts)
      deps.metrics?.records.inc({ outcome: 'clean', resource_type: type }, n);
    cleanCounts.clear();
  };

  const deidentify = (ready: Ready): Output => {
    try {
      const clean = deps.deidentifier.deidentify(ready.type, ready.plain);
      const output: Output = { topic: ready.cleanTopic, key: ready.key, value: clean };
      origins.set(output, ready.origin);
      countClean(ready.type);
      return output;
    } catch (err) {
      return quarantineError(ready.origin, err, ready.key);
    }
  };

  /** The worker path's end of one record: its clean output, or a quarantine for what was refused. */
  const finish = (ready: Ready, result: DeidResult | undefined): Output => {
    if (result === undefined) {
      throw new PipelineError('WORKER_FAILED', 'worker results do not match the chunk', { context: {} });
    }
    if (result.refused !== undefined) {
      const { code, fieldPath } = result.refused;
      const err = new PipelineError(
        code,
        `${fieldPath === null ? 'record' : `field ${fieldPath}`}: de-identification refused the value (${code})`,
        { context: fieldPath === null ? {} : { fieldPath } },
      );
      return quarantineError(ready.origin, err, ready.key);
    }
    const output: Output = { topic: ready.cleanTopic, key: ready.key, value: result.clean };
    origins.set(output, ready.origin);
    countClean(ready.type);
    return output;
  };

  /** De-identifies on the workers: directory steps taken here in record order, results in order. */
  const deidentifyOnWorkers = async (
    workers: DeidWorkers,
    prepared: readonly (Output | Ready)[],
  ): Promise<Output[]> => {
    const jobs: DeidJob[] = [];
    for (const p of prepared) {
      if (isReady(p))
        jobs.push({
          type: p.type,
          plain: p.plain,
          step: unlessUnplaced(() => deps.deidentifier.directoryStep(p.type, p.plain)),
        });
    }
    const results = await workers.deidentify(jobs);
    let next = 0;
    return prepared.map((p) => (isReady(p) ? finish(p, results[next++]) : p));
  };

  const handleBatch = async (batch: readonly InputRecord[]): Promise<Output[]> => {
    const prepared = batch.map((r) =>
      r.topic === deps.deletions.plan.validTopic ? redactDeletion(r) : prepare(r),
    );
    const directory = deps.directory;
    if (directory !== undefined) {
      const subjects: string[] = [];
      for (const p of prepared) {
        if (!isReady(p)) continue;
        const subject = unlessUnplaced(() => deps.deidentifier.directorySubject(p.type, p.plain));
        if (subject !== undefined) subjects.push(subject);
      }
      await directory.prefetch(subjects);
    }
    const outputs =
      deps.workers === undefined
        ? prepared.map((p) => (isReady(p) ? deidentify(p) : p))
        : await deidentifyOnWorkers(deps.workers, prepared);
    await directory?.flush();
    return outputs;
  };

  return {
    handler: async (batch) => {
      const stop = deps.metrics?.deidSeconds.startTimer();
      try {
        return await handleBatch(batch);
      } finally {
        flushCounts();
        stop?.();
      }
    },
    onQuarantine: (output, error) => {
      const origin = origins.get(output) ?? {
        position: { topic: output.topic, partition: -1, offset: '-1' },
        resourceType: null,
        value: undefined,
        raw: null,
      };
      return quarantine(origin, error, reasonOf(error) ?? 'schema_mismatch', output.key);
    },
  };
}

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;

/** `ehr.valid.Patient` → `Patient`; null when the topic does not carry the prefix. */
export function typeOfTopic(topic: string, validPrefix: string): string | null {
  return topic.startsWith(validPrefix) && topic.length > validPrefix.length
    ? topic.slice(validPrefix.length)
    : null;
}

function isReady(p: Output | Ready): p is Ready {
  return 'plain' in p;
}

/**
 * What the directory reads of a ready record (its subject, its step); a record the contract
 * cannot place has none: de-identification meets the same problem and quarantines the record.
 */
function unlessUnplaced<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (err) {
    if (isProgrammerError(err)) throw err;
    return undefined;
  }
}

function asRecord(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
