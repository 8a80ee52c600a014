import { KIND_HEADER, type RawEnvelope } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import type { BatchHandler, InputRecord, Output } from '@ehrflow/kafka';
import { typeLabel, type ValidatorMetrics } from './metrics.ts';
import type { DerivingValidator } from './derived-resources.ts';
import type { Monitor } from './monitor.ts';
import { quarantineRecord, type QuarantineOrigin } from './quarantine.ts';
import type { Outcome, RawInput, RecordValidator } from './validate-record.ts';
import type { EnvelopeInput, ValidateWorkers } from './validate-workers.ts';

export interface HandlerDeps {
  readonly validator: RecordValidator;
  /** The HL7 v2 path: `HL7V2` envelopes go there (one message → several outcomes). */
  readonly hl7?: DerivingValidator;
  /** The X12 path: `X12` envelopes (one transaction set → one resource per claim or payment). */
  readonly x12?: DerivingValidator;
  readonly monitor: Monitor;
  readonly quarantineTopic: string;
  readonly metrics?: ValidatorMetrics;
  readonly now?: () => number;
  /**
   * Worker threads for FHIR envelopes (VALIDATOR_WORKERS > 0); inline when absent. HL7 v2, X12
   * and undecodable records stay on this thread; outcomes are taken in input order either way.
   */
  readonly workers?: ValidateWorkers;
}

/** The batch handler and the produce-time quarantine hook of the consumer runner. */
export interface ValidatorHandler {
  readonly handle: BatchHandler;
  /** A valid record the registered schema refuses at produce time is quarantined as `schema_mismatch`. */
  readonly onQuarantine: (output: Output, error: PipelineError) => Output;
  /** Validates already-decoded inputs (replay uses this). */
  outputsOf(inputs: readonly RawInput[]): Promise<Output[]>;
}

/** Whether a decoded value has the raw envelope's shape (the Avro decode already typed it). */
export function isRawEnvelope(value: unknown): value is RawEnvelope {
  if (value === null || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.recordId === 'string' &&
    typeof v.sourceId === 'string' &&
    typeof v.jobId === 'string' &&
    Buffer.isBuffer(v.payload) &&
    typeof v.keyId === 'string' &&
    typeof v.format === 'string' &&
    typeof v.kind === 'string'
  );
}

export function toRawInput(record: InputRecord, replayCount = 0): RawInput {
  const position = { topic: record.topic, partition: record.partition, offset: record.offset };
  if (record.decodeError !== undefined) {
    return {
      undecodable: { error: record.decodeError, raw: record.raw },
      position,
      key: record.key,
      replayCount,
    };
  }
  if (!isRawEnvelope(record.value)) {
    const error = new PipelineError('SCHEMA_MISMATCH', 'record on the raw topic is not a raw envelope', {
      context: position,
    });
    return { undecodable: { error, raw: null }, position, key: record.key, replayCount };
  }
  return { envelope: record.value, position, key: record.key, replayCount };
}

export function createValidatorHandler(deps: HandlerDeps): ValidatorHandler {
  const now = deps.now ?? Date.now;
  // The origin of each valid output, in case the codec refuses it at produce time.
  const origins = new WeakMap<object, { origin: QuarantineOrigin; subject: string; version: number }>();

  function toOutput(outcome: Outcome, input: RawInput): Output {
    deps.monitor.observeDrift(outcome.drift);
    if (outcome.kind === 'quarantined') {
      deps.metrics?.records.inc({
        outcome: 'quarantined',
        resource_type: typeLabel(outcome.value.resourceType),
      });
      deps.monitor.observeQuarantine(outcome.value);
      return { topic: deps.quarantineTopic, key: outcome.key, value: outcome.value };
    }
    const served =
      outcome.kind === 'deletion'
        ? { resourceType: outcome.resourceType, subject: outcome.subject, version: outcome.version }
        : outcome.contract;
    deps.metrics?.records.inc({ outcome: outcome.kind, resource_type: served.resourceType });
    const output: Output =
      outcome.kind === 'deletion'
        ? {
            topic: outcome.topic,
            key: outcome.key,
            value: outcome.value,
            headers: { [KIND_HEADER]: 'DELETE' },
          }
        : outcome.headers === undefined
          ? { topic: outcome.topic, key: outcome.key, value: outcome.value }
          : { topic: outcome.topic, key: outcome.key, value: outcome.value, headers: { ...outcome.headers } };
    if (input.envelope !== undefined) {
      origins.set(output, {
        origin: {
          position: input.position,
          recordId: input.envelope.recordId,
          jobId: input.envelope.jobId,
          sourceId: input.envelope.sourceId,
          resourceType: served.resourceType,
          payload: input.envelope.payload,
          keyId: input.envelope.keyId,
          replayCount: input.replayCount,
        },
        subject: served.subject,
        version: served.version,
      });
    }
    return output;
  }

  const isHl7 = (input: RawInput): input is EnvelopeInput =>
    deps.hl7 !== undefined && input.envelope !== undefined && input.envelope.format === 'HL7V2';
  const isX12 = (input: RawInput): input is EnvelopeInput =>
    deps.x12 !== undefined && input.envelope !== undefined && input.envelope.format === 'X12';
  const onWorkers = (input: RawInput): input is EnvelopeInput =>
    deps.workers !== undefined && input.envelope !== undefined && !isHl7(input) && !isX12(input);

  async function outputsOf(inputs: readonly RawInput[]): Promise<Output[]> {
    const out: Output[] = [];
    // The workers validate their share of the chunk first; the outcomes are then taken in input
    // order with the rest, because the fill-rate windows count in order.
    const finishers = deps.workers === undefined ? [] : await deps.workers.validate(inputs.filter(onWorkers));
    let next = 0;
    for (const input of inputs) {
      if (isHl7(input) && deps.hl7 !== undefined) {
        for (const outcome of await deps.hl7.validate(input)) out.push(toOutput(outcome, input));
      } else if (isX12(input) && deps.x12 !== undefined) {
        for (const outcome of await deps.x12.validate(input)) out.push(toOutput(outcome, input));
      } else if (onWorkers(input)) {
        const finish = finishers[next++];
        if (finish === undefined)
          throw new PipelineError('WORKER_FAILED', 'worker outcomes do not match the chunk');
        out.push(toOutput(await finish(), input));
      } else {
        // Sequential on purpose: validation is CPU-bound and the fill-rate windows count in order.
        out.push(toOutput(await deps.validator.validate(input), input));
      }
    }
    return out;
  }

  return {
    outputsOf,
    handle: (batch) => outputsOf(batch.map((r) => toRawInput(r))),
    onQuarantine(output: Output, error: PipelineError): Output {
      const known = origins.get(output);
      if (known === undefined) throw error;
      const fieldPath = typeof error.context.fieldPath === 'string' ? error.context.fieldPath : null;
      // The codec refused the record, or it is larger than an output record may be.
      const reason = error.code === 'TOO_LARGE' ? 'too_large' : 'schema_mismatch';
      const value = quarantineRecord(
        known.origin,
        {
          reason,
          fieldPath,
          detail: error.message,
          subject: known.subject,
          version: known.version,
        },
        now(),
      );
      deps.metrics?.records.inc({
        outcome: reason,
        resource_type: typeLabel(known.origin.resourceType),
      });
      deps.monitor.observeQuarantine(value);
      return { topic: deps.quarantineTopic, key: output.key, value };
    },
  };
}
