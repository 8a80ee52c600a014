import { Hl7Message, type Hl7Segment } from '@medplum/core';
import { PipelineError } from '@ehrflow/errors';

/**
 * The parser seam: the product reads HL7 v2 ER7 through this file only, so `@medplum/core`'s
 * `Hl7Message` can be replaced without touching callers. Positions are 1-based as in the spec
 * (`PID-7` is field 7 of PID; `MSH-1` is the field separator itself).
 * @see https://www.hl7.org/implement/standards/product_brief.cfm?product_id=185 (v2.5.1, chapter 2)
 */

/** Acknowledgment conditions of MSH-15/MSH-16. @see HL7 table 0155 */
export type AckCondition = 'AL' | 'NE' | 'ER' | 'SU';

/** The header facts the receiver needs, PHI-free by nature (ids, codes, versions). */
export interface Hl7Header {
  /** MSH-3.1 */
  readonly sendingApplication: string;
  /** MSH-4.1 */
  readonly sendingFacility: string;
  readonly receivingApplication: string;
  readonly receivingFacility: string;
  /** MSH-9.1 ^ MSH-9.2, e.g. `ADT^A01`. */
  readonly messageType: string;
  /** MSH-10: the sender's message control id. */
  readonly controlId: string;
  /** MSH-11.1: P, T or D. */
  readonly processingId: string;
  /** MSH-12.1, e.g. `2.5.1`. */
  readonly version: string;
  /** MSH-15 (accept acknowledgment type); empty means original acknowledgment mode. */
  readonly acceptAck: AckCondition | '';
  /** MSH-16 (application acknowledgment type). */
  readonly applicationAck: AckCondition | '';
  /** MSH-1 and MSH-2 as sent, e.g. `|^~\&`. */
  readonly encoding: string;
}

/** One parsed message. */
export interface Hl7View {
  readonly header: Hl7Header;
  /** Segment names in order (`MSH`, `PID`, `ZPI`, …). */
  readonly segmentNames: readonly string[];
  /** Value at `SEG-field.component.subcomponent`, repetition `rep` (1-based), `''` when absent. */
  value(segment: string, field: number, component?: number, rep?: number, occurrence?: number): string;
  /** Number of repetitions of a field (0 when empty). */
  repetitions(segment: string, field: number, occurrence?: number): number;
  /** Number of segments with this name. */
  count(segment: string): number;
  /** The text as received (segments separated by CR). */
  readonly text: string;
}

const ACK_CONDITIONS: ReadonlySet<string> = new Set(['AL', 'NE', 'ER', 'SU']);

/** Splits ER7 text into segments: CR is the separator, LF and CRLF are accepted as senders use them. */
export function splitSegments(text: string): string[] {
  return text.split(/\r\n|\r|\n/).filter((s) => s.length > 0);
}

/**
 * Parses one message. @throws PipelineError PARSE_ERROR naming the position (`MSH`, `MSH-10`, …)
 * when the header is unusable; never quotes the text.
 */
export function parseHl7(text: string): Hl7View {
  const segments = splitSegments(text);
  const first = segments[0];
  if (first === undefined || !first.startsWith('MSH') || first.length < 8) {
    throw new PipelineError('PARSE_ERROR', 'message does not start with an MSH segment', {
      context: { position: 'MSH' },
    });
  }
  let message: Hl7Message;
  try {
    message = Hl7Message.parse(segments.join('\r'));
  } catch (err) {
    throw new PipelineError('PARSE_ERROR', 'message could not be parsed', {
      context: { position: 'MSH' },
      cause: err instanceof Error ? { name: err.name } : undefined,
    });
  }
  const msh = message.getSegment('MSH');
  if (msh === undefined)
    throw new PipelineError('PARSE_ERROR', 'MSH missing', { context: { position: 'MSH' } });
  const field = (seg: Hl7Segment | undefined, i: number, c = 1, rep = 0): string =>
    seg?.getField(i) === undefined ? '' : seg.getComponent(i, c, undefined, rep);
  const ack = (v: string): AckCondition | '' => (ACK_CONDITIONS.has(v) ? (v as AckCondition) : '');
  const header: Hl7Header = {
    sendingApplication: field(msh, 3),
    sendingFacility: field(msh, 4),
    receivingApplication: field(msh, 5),
    receivingFacility: field(msh, 6),
    messageType: [field(msh, 9, 1), field(msh, 9, 2)].filter((s) => s !== '').join('^'),
    controlId: field(msh, 10),
    processingId: field(msh, 11),
    version: field(msh, 12),
    acceptAck: ack(field(msh, 15)),
    applicationAck: ack(field(msh, 16)),
    encoding: first.slice(3, 8),
  };
  const names = segments.map((s) => s.slice(0, 3));
  const nth = (name: string, occurrence: number): Hl7Segment | undefined =>
    message.getAllSegments(name)[occurrence - 1];
  return {
    header,
    segmentNames: names,
    text: segments.join('\r'),
    value(segment, fieldNo, component = 1, rep = 1, occurrence = 1) {
      return field(nth(segment, occurrence), fieldNo, component, rep - 1);
    },
    repetitions(segment, fieldNo, occurrence = 1) {
      const f = nth(segment, occurrence)?.getField(fieldNo);
      if (f === undefined) return 0;
      return f.components.filter((c) => c.some((x) => x !== '')).length;
    },
    count(segment) {
      return message.getAllSegments(segment).length;
    },
  };
}
