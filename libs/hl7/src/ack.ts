import type { Hl7Header } from './message.ts';

/**
 * Acknowledgment codes. Original mode: AA accepted, AE error in the content (do not resend as is),
 * AR rejected for a reason unrelated to the content (system down: resend). Enhanced mode (commit
 * level): CA, CE, CR with the same split as `@medplum/hl7` uses — CR transient (retry), CE permanent.
 * @see HL7 v2.5.1 section 2.9.2 and table 0008
 */
export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';

/** The outcome of taking a message in, before it is turned into a mode's code. */
export type AckOutcome = 'accepted' | 'content-error' | 'transient';

/** An ERR segment: a code and a position, never the value found there. @see HL7 v2.5.1 ERR, table 0357 */
export interface ErrPosition {
  /** Segment id and field, e.g. `{ segment: 'MSH', field: 10 }`; omitted for message-level errors. */
  readonly segment?: string;
  readonly occurrence?: number;
  readonly field?: number;
  /** HL7 table 0357 code: 100 segment sequence, 101 required field missing, 102 data type, 200 unsupported message type, 203 unsupported version, 207 application internal error. */
  readonly code: 100 | 101 | 102 | 103 | 200 | 201 | 202 | 203 | 204 | 206 | 207;
  /** Severity (table 0516): E error, W warning. */
  readonly severity?: 'E' | 'W';
}

const ERR_TEXT: Readonly<Record<ErrPosition['code'], string>> = {
  100: 'Segment sequence error',
  101: 'Required field missing',
  102: 'Data type error',
  103: 'Table value not found',
  200: 'Unsupported message type',
  201: 'Unsupported event code',
  202: 'Unsupported processing id',
  203: 'Unsupported version id',
  204: 'Unknown key identifier',
  206: 'Application record locked',
  207: 'Application internal error',
};

/** Whether a header asks for enhanced (commit-level) acknowledgment: MSH-15 or MSH-16 present. */
export function isEnhancedMode(header: Pick<Hl7Header, 'acceptAck' | 'applicationAck'> | undefined): boolean {
  return header !== undefined && (header.acceptAck !== '' || header.applicationAck !== '');
}

/** The code for an outcome in the header's mode. */
export function ackCodeOf(outcome: AckOutcome, enhanced: boolean): AckCode {
  switch (outcome) {
    case 'accepted':
      return enhanced ? 'CA' : 'AA';
    case 'content-error':
      return enhanced ? 'CE' : 'AE';
    case 'transient':
      return enhanced ? 'CR' : 'AR';
  }
}

/**
 * Whether a commit acknowledgment is sent under MSH-15 (`AL` always, `NE` never, `ER` only on
 * error, `SU` only on success); original mode always answers.
 */
export function commitAckWanted(header: Hl7Header | undefined, code: AckCode): boolean {
  if (!isEnhancedMode(header) || header === undefined) return true;
  const ok = code === 'CA' || code === 'AA';
  switch (header.acceptAck) {
    case '':
    case 'AL':
      return true;
    case 'NE':
      return false;
    case 'ER':
      return !ok;
    case 'SU':
      return ok;
  }
}

export interface AckInput {
  /** The acknowledged message's header; absent when even MSH could not be read. */
  readonly header: Hl7Header | undefined;
  readonly code: AckCode;
  /** MSA-2 override (a batch's BHS-11); defaults to MSH-10. */
  readonly controlId?: string;
  readonly errors?: readonly ErrPosition[];
  /** This receiver's MSH-3/MSH-4. */
  readonly application: string;
  readonly facility: string;
  /** MSH-10 of the ACK itself. */
  readonly ackControlId: string;
  readonly now?: Date;
}

/**
 * Builds an ACK in the standard delimiters: MSH with sender and receiver swapped, MSA echoing
 * MSH-10 (MSA-2), one ERR per problem carrying code and position (ERR-2, ERR-3, ERR-4) only.
 * A text the sender sent never appears in it, apart from the identifiers of the header.
 */
export function buildAck(input: AckInput): string {
  const h = input.header;
  const clean = (s: string | undefined): string => (s ?? '').replace(/[|^~\\&\r\n]/g, '');
  const now = input.now ?? new Date();
  const ts = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const trigger = h?.messageType.split('^')[1] ?? '';
  const msh = [
    'MSH',
    '^~\\&',
    clean(input.application),
    clean(input.facility),
    clean(h?.sendingApplication),
    clean(h?.sendingFacility),
    ts,
    '',
    trigger === '' ? 'ACK' : `ACK^${clean(trigger)}^ACK`,
    clean(input.ackControlId),
    clean(h?.processingId) || 'P',
    clean(h?.version) || '2.5.1',
  ].join('|');
  const msa = ['MSA', input.code, clean(input.controlId ?? h?.controlId)].join('|');
  const errs = (input.errors ?? []).map((e) => {
    const location = e.segment === undefined ? '' : [e.segment, e.occurrence ?? 1, e.field ?? ''].join('^');
    return ['ERR', '', location, `${e.code}^${ERR_TEXT[e.code]}^HL70357`, e.severity ?? 'E'].join('|');
  });
  return [msh, msa, ...errs].join('\r') + '\r';
}
