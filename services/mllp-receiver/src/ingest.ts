import { randomUUID } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import {
  ackCodeOf,
  batchHeaderOf,
  buildAck,
  commitAckWanted,
  identityDigest,
  isEnhancedMode,
  parseHl7,
  printableControlId,
  readBlock,
  type AckOutcome,
  type BatchHeader,
  type BatchProblem,
  type ErrPosition,
  type Hl7Header,
  type Hl7View,
} from '@ehrflow/hl7';
import type { OutgoingMessage } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import type { AlertSink } from './alerts.ts';
import type { DedupeWindow } from './dedupe.ts';
import { quarantinedBatch, rawMessage, type EnvelopeContext } from './envelopes.ts';
import type { ReceiverMetrics } from './metrics.ts';
import type { GroupWriter } from './writer.ts';

/** Everything taking a block in needs. */
export interface IngestDeps {
  readonly envelopes: EnvelopeContext;
  readonly writer: GroupWriter;
  readonly dedupe: DedupeWindow;
  /** Produces quarantine records with acks=all. */
  readonly quarantine: (message: OutgoingMessage) => Promise<void>;
  readonly alerts: AlertSink;
  readonly logger: Logger;
  readonly metrics?: ReceiverMetrics;
  readonly ackApplication: string;
  readonly ackFacility: string;
  readonly processingIds: ReadonlySet<string>;
}

/** What to send back for one block, in order (a commit ACK, then maybe an application ACK). */
export interface IngestResult {
  readonly replies: string[];
  readonly outcome: AckOutcome | 'duplicate';
}

/** HL7 v2 versions this product takes in (MSH-12); others are refused with error 203. */
const VERSION = /^2\.[1-9](\.\d+)?$/;

/**
 * Takes one MLLP block in: a message or a whole batch. The rule: an accepting ACK is built only
 * after the envelope is acknowledged by Kafka (acks=all); a content error is answered AE/CE with
 * ERR positions; a failure to write is answered AR/CR so the sender resends; a known identity is
 * acknowledged again without a new write.
 */
export interface Ingest {
  /** Takes one complete block in and says what to answer. */
  take(block: Buffer, locator: string): Promise<IngestResult>;
  /** Quarantines the start of a batch whose block never ended (disconnect or stall mid-stream). */
  cutOff(partial: Buffer): Promise<void>;
}

export function createIngest(deps: IngestDeps): Ingest {
  const { logger, metrics } = deps;
  const ack = (
    header: Hl7Header | undefined,
    outcome: AckOutcome,
    errors: readonly ErrPosition[] = [],
    controlId?: string,
  ): string =>
    buildAck({
      header,
      code: ackCodeOf(outcome, isEnhancedMode(header)),
      errors,
      application: deps.ackApplication,
      facility: deps.ackFacility,
      ackControlId: randomUUID().replaceAll('-', '').slice(0, 20),
      ...(controlId !== undefined ? { controlId } : {}),
    });

  /** The replies for a message outcome: the commit ACK per MSH-15, then an application ACK per MSH-16. */
  const replies = (
    header: Hl7Header | undefined,
    outcome: AckOutcome,
    errors: readonly ErrPosition[] = [],
  ): string[] => {
    const out: string[] = [];
    const commit = ack(header, outcome, errors);
    if (commitAckWanted(header, ackCodeOf(outcome, isEnhancedMode(header)))) out.push(commit);
    // Enhanced mode: the receiver's "application" is durable acceptance, so the application ACK
    // follows the commit ACK when MSH-16 asks for it (AL always, SU on success, ER on error).
    if (header && isEnhancedMode(header) && header.applicationAck !== '' && header.applicationAck !== 'NE') {
      const ok = outcome === 'accepted';
      const wanted = header.applicationAck === 'AL' || (header.applicationAck === 'SU' ? ok : !ok);
      if (wanted)
        out.push(
          buildAck({
            header,
            code: ackCodeOf(outcome, false),
            errors,
            application: deps.ackApplication,
            facility: deps.ackFacility,
            ackControlId: randomUUID().replaceAll('-', '').slice(0, 20),
          }),
        );
    }
    return out;
  };

  /** Header checks beyond parsing: required MSH fields, processing id, version. */
  const headerProblems = (h: Hl7Header): { outcome: AckOutcome; errors: ErrPosition[] } | undefined => {
    if (h.controlId === '')
      return { outcome: 'content-error', errors: [{ segment: 'MSH', field: 10, code: 101 }] };
    if (h.messageType === '')
      return { outcome: 'content-error', errors: [{ segment: 'MSH', field: 9, code: 101 }] };
    if (!deps.processingIds.has(h.processingId))
      return { outcome: 'content-error', errors: [{ segment: 'MSH', field: 11, code: 202 }] };
    if (!VERSION.test(h.version))
      return { outcome: 'content-error', errors: [{ segment: 'MSH', field: 12, code: 203 }] };
    return undefined;
  };

  const parse = (
    text: string,
  ): { view: Hl7View } | { problem: { outcome: AckOutcome; errors: ErrPosition[] }; header?: Hl7Header } => {
    let view: Hl7View;
    try {
      view = parseHl7(text);
    } catch (err) {
      if (err instanceof PipelineError && err.code === 'PARSE_ERROR') {
        return { problem: { outcome: 'content-error', errors: [{ segment: 'MSH', field: 1, code: 100 }] } };
      }
      throw err;
    }
    const problem = headerProblems(view.header);
    return problem ? { problem, header: view.header } : { view };
  };

  const transient = (header: Hl7Header | undefined, err: unknown, what: string): IngestResult => {
    metrics?.nacks.inc({ reason: 'write_failed' });
    logger.warn(
      { err, controlId: header ? printableControlId(header.controlId) : undefined },
      `${what}; answered as transient so the sender resends`,
    );
    return { replies: replies(header, 'transient', [{ code: 207 }]), outcome: 'transient' };
  };

  async function takeMessage(text: string, locator: string): Promise<IngestResult> {
    const parsed = parse(text);
    if ('problem' in parsed) {
      metrics?.nacks.inc({ reason: 'invalid_header' });
      return {
        replies: replies(parsed.header, parsed.problem.outcome, parsed.problem.errors),
        outcome: parsed.problem.outcome,
      };
    }
    const { header } = parsed.view;
    const digest = identityDigest(deps.envelopes.pseudonymKey, deps.envelopes.sourceId, header);
    try {
      const [seen] = await deps.dedupe.seen([digest]);
      if (seen) {
        metrics?.duplicates.inc({ hl7_type: safeType(header.messageType) });
        return { replies: replies(header, 'accepted'), outcome: 'duplicate' };
      }
      await deps.writer.write([rawMessage(deps.envelopes, parsed.view, locator)]);
    } catch (err) {
      return transient(header, err, 'message not written');
    }
    // The write is durable: the ACK does not wait for the window (one Redis round trip less per
    // message). Commands on the one Redis connection run in order, so a resend on any connection of
    // this replica sees the mark; a failed mark means a resend is written again, same record id.
    void deps.dedupe
      .remember([digest])
      .catch((err: unknown) => logger.warn({ err }, 'dedupe window not updated'));
    metrics?.accepted.inc({ hl7_type: safeType(header.messageType) });
    return { replies: replies(header, 'accepted'), outcome: 'accepted' };
  }

  async function rejectBatch(
    block: Buffer,
    header: BatchHeader,
    problem: BatchProblem,
  ): Promise<IngestResult> {
    try {
      await deps.quarantine(quarantinedBatch(deps.envelopes, block, header, problem));
    } catch (err) {
      return transient(undefined, err, 'rejected batch not quarantined');
    }
    metrics?.batches.inc({ result: problem.reason });
    const batchId = printableControlId(header.batchId);
    const summary = `HL7 batch ${batchId} from ${printableControlId(header.sendingApplication)}/${printableControlId(header.sendingFacility)} rejected whole: ${problem.reason} at ${problem.position}`;
    logger.warn(
      {
        batchId,
        reason: problem.reason,
        position: problem.position,
        declared: problem.declared,
        found: problem.found,
      },
      'batch rejected whole and quarantined',
    );
    await deps.alerts
      .send({
        alertId: randomUUID(),
        kind: 'hl7_batch_rejected',
        sourceId: deps.envelopes.sourceId,
        sendingApplication: printableControlId(header.sendingApplication),
        sendingFacility: printableControlId(header.sendingFacility),
        batchId,
        reason: problem.reason,
        position: problem.position,
        ...(problem.declared !== undefined ? { declared: problem.declared } : {}),
        ...(problem.found !== undefined ? { found: problem.found } : {}),
        summary,
        at: new Date().toISOString(),
      })
      .catch((err: unknown) => logger.error({ err }, 'alert not sent'));
    const [segment, field] = problem.position.split('-');
    const error: ErrPosition = {
      segment: segment ?? 'BTS',
      code: 100,
      ...(field !== undefined ? { field: Number(field) } : {}),
    };
    return { replies: [ack(undefined, 'content-error', [error], header.batchId)], outcome: 'content-error' };
  }

  async function takeBatch(
    block: Buffer,
    header: BatchHeader,
    messages: readonly string[],
    locator: string,
  ): Promise<IngestResult> {
    const views: Hl7View[] = [];
    for (const [i, text] of messages.entries()) {
      const parsed = parse(text);
      if ('problem' in parsed) {
        const first = parsed.problem.errors[0];
        return rejectBatch(block, header, {
          reason: 'batch_malformed',
          position: `MSH-${first?.field ?? 1}`,
          found: i + 1,
        });
      }
      views.push(parsed.view);
    }
    const digests = views.map((v) =>
      identityDigest(deps.envelopes.pseudonymKey, deps.envelopes.sourceId, v.header),
    );
    try {
      const seen = await deps.dedupe.seen(digests);
      const fresh = views.filter((_, i) => seen[i] !== true);
      const batchLocator = `${locator} batch ${printableControlId(header.batchId)}`;
      await deps.writer.writeAtomic(fresh.map((v) => rawMessage(deps.envelopes, v, batchLocator)));
      metrics?.duplicates.inc({ hl7_type: 'batch' }, views.length - fresh.length);
      metrics?.accepted.inc({ hl7_type: 'batch' }, fresh.length);
    } catch (err) {
      return transient(undefined, err, 'batch not written');
    }
    await deps.dedupe
      .remember(digests)
      .catch((err: unknown) => logger.warn({ err }, 'dedupe window not updated'));
    metrics?.batches.inc({ result: 'accepted' });
    return { replies: [ack(undefined, 'accepted', [], header.batchId)], outcome: 'accepted' };
  }

  return {
    async take(block, locator) {
      const read = readBlock(block.toString('utf8'));
      switch (read.kind) {
        case 'message':
          return takeMessage(read.text, locator);
        case 'batch':
          return takeBatch(block, read.batch, read.batch.messages, locator);
        case 'invalid-batch':
          return rejectBatch(block, read.header, read.problem);
      }
    },
    async cutOff(partial) {
      await rejectBatch(partial, batchHeaderOf(partial.toString('utf8')), {
        reason: 'batch_incomplete',
        position: 'BTS',
      });
    },
  };
}

/** A message type as a metric label: `ADT^A01` → `ADT_A01`; anything odd becomes `other`. */
export function safeType(messageType: string): string {
  const label = messageType.replace('^', '_');
  return /^[A-Z0-9]{3}(_[A-Z0-9]{2,3})?$/.test(label) ? label : 'other';
}
