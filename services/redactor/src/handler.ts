import type { QuarantineReason } from '@ehrflow/contracts';
import type { Deidentifier } from '@ehrflow/deid';
import { PipelineError, isProgrammerError } from '@ehrflow/errors';
import type { BatchHandler, InputRecord, Output, QuarantineHook } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import type { Keyring } from '@ehrflow/phi';
import type { CleanPlan } from './clean-schemas.ts';
import type { RedactorTopics } from './config.ts';
import type { Decryptor } from './decrypt.ts';
import { typeLabel, type RedactorMetrics } from './metrics.ts';
import { quarantineRecord, reasonOf, type RedactorOrigin } from './quarantine.ts';

export interface RedactHandlerDeps {
  readonly plan: CleanPlan;
  readonly topics: RedactorTopics;
  readonly deidentifier: Deidentifier;
  /** One per resource type of the plan. */
  readonly decryptors: ReadonlyMap<string, Decryptor>;
  /** Seals quarantined payloads. */
  readonly ring: Keyring;
  readonly logger: Logger;
  readonly metrics?: RedactorMetrics;
  readonly now?: () => number;
}

export interface RedactHandler {
  /** Turns a chunk of valid records into clean records (and quarantine records for refusals). */
  readonly handler: BatchHandler;
  /** For the runner: a clean record the registered clean schema refuses goes to quarantine. */
  readonly onQuarantine: QuarantineHook;
}

/**
 * The redactor's batch handler: decode check, decrypt the PHI fields, de-identify under the
 * compiled policy, produce to `ehr.clean.<Type>` with the same Kafka key (a pseudonym).
 *
 * A record that is the problem (undecodable, a key the ring lacks, a value its method cannot
 * process, a clean record its schema refuses) is quarantined with a PHI-free reason and the run
 * goes on; anything else (registry or broker trouble, a bug) is thrown, so the chunk is retried
 * or the runner stops, and no offset moves past an unprocessed record.
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
    const plan = type === null ? undefined : deps.plan.types.get(type);
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

  const handleOne = (record: InputRecord): Output => {
    const position = { topic: record.topic, partition: record.partition, offset: record.offset };
    const type = typeOfTopic(record.topic, deps.topics.validPrefix);
    const key = record.key ?? `${record.topic}/${record.partition}/${record.offset}`;
    if (record.decodeError !== undefined) {
      return quarantine(
        { position, resourceType: type, value: undefined, raw: record.raw },
        record.decodeError,
        'parse_error',
        key,
      );
    }
    const value = asRecord(record.value);
    const origin: RedactorOrigin = { position, resourceType: type, value, raw: null };
    const plan = type === null ? undefined : deps.plan.types.get(type);
    const decrypt = type === null ? undefined : deps.decryptors.get(type);
    if (value === undefined) {
      const err = new PipelineError(
        'PARSE_ERROR',
        `record at ${record.topic}/${record.partition}@${record.offset} is not a record`,
        {
          context: { ...position },
        },
      );
      return quarantine(origin, err, 'parse_error', key);
    }
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
      const clean = deps.deidentifier.deidentify(type, decrypt(value));
      const output: Output = { topic: plan.cleanTopic, key, value: clean };
      origins.set(output, origin);
      deps.metrics?.records.inc({ outcome: 'clean', resource_type: type });
      return output;
    } catch (err) {
      if (isProgrammerError(err)) throw err;
      const reason = reasonOf(err);
      if (reason === undefined || !(err instanceof PipelineError)) throw err;
      return quarantine(origin, err, reason, key);
    }
  };

  return {
    handler: (batch) => {
      const stop = deps.metrics?.deidSeconds.startTimer();
      try {
        return Promise.resolve(batch.map(handleOne));
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error('handler failed'));
      } finally {
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

/** `ehr.valid.Patient` → `Patient`; null when the topic does not carry the prefix. */
export function typeOfTopic(topic: string, validPrefix: string): string | null {
  return topic.startsWith(validPrefix) && topic.length > validPrefix.length
    ? topic.slice(validPrefix.length)
    : null;
}

function asRecord(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
