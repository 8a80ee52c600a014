/**
 * Synthetic HL7 v2 messages, generated from a seed: every name, id and date is made up here, so
 * the simulator never carries real data. The same seed gives the same messages.
 */
import { seededRandom } from '@ehrflow/testing';

export { seededRandom };

const FAMILY = [
  'Quillfeather',
  'Brambleton',
  'Osterholt',
  'Vantrelli',
  'Mirowska',
  'Castellane',
  'Thornbury',
  'Okonkwo-Lind',
];
const GIVEN = ['Ada', 'Bexley', 'Corin', 'Dalia', 'Emrys', 'Fenna', 'Galen', 'Hollis'];
const LOINC = [
  ['2345-7', 'Glucose', 'mg/dL', 70, 140],
  ['718-7', 'Hemoglobin', 'g/dL', 11, 17],
  ['2951-2', 'Sodium', 'mmol/L', 133, 146],
  ['2823-3', 'Potassium', 'mmol/L', 3.3, 5.2],
] as const;
const ICD = ['E11.9', 'I10', 'J45.909', 'K21.9', 'N39.0'];
const ALLERGENS = ['PENICILLIN', 'LATEX', 'PEANUT', 'SULFA'];

/** Message types the simulator sends (ADT events and lab results). */
export const MESSAGE_TYPES = ['ADT^A01', 'ADT^A03', 'ADT^A04', 'ADT^A08', 'ORU^R01'] as const;
export type SimMessageType = (typeof MESSAGE_TYPES)[number];

/** A drift a vendor upgrade might bring. */
export type Drift =
  'none' | 'birthdate-moved' | 'z-segment' | 'version-change' | 'type-change' | 'encoding-change';

export interface MessageOptions {
  readonly sendingApplication?: string;
  readonly sendingFacility?: string;
  readonly controlId: string;
  readonly type?: SimMessageType;
  /** `2.3`, `2.4`, `2.5`, `2.5.1` (default). */
  readonly version?: string;
  /** Enhanced acknowledgment mode: MSH-15/MSH-16. */
  readonly acceptAck?: 'AL' | 'NE' | 'ER' | 'SU';
  readonly applicationAck?: 'AL' | 'NE' | 'ER' | 'SU';
  readonly drift?: Drift;
  /** Pads the message with OBX/NTE segments to about this many bytes. */
  readonly targetBytes?: number;
  /** A planted patient (canary names and record number) instead of drawn ones. */
  readonly patient?: { readonly family: string; readonly given: string; readonly mrn?: string };
  /** ORU^R01 only: a free-text result (an OBX of type ST) with this text, after the lab values. */
  readonly note?: string;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

const nameOf = (family: string, given: string, planted: MessageOptions['patient']): string =>
  planted === undefined ? `${family}^${given}` : `${planted.family}^${planted.given}`;

/** One synthetic message, CR-separated, drawn from `random`. */
export function syntheticMessage(random: () => number, options: MessageOptions): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const type = options.type ?? pick(MESSAGE_TYPES);
  const [code, event] = type.split('^') as [string, string];
  const drift = options.drift ?? 'none';
  const version = drift === 'version-change' ? '2.6' : (options.version ?? '2.5.1');
  const drawnMrn = `SIM${pad(Math.floor(random() * 1e7), 7)}`;
  const mrn = options.patient?.mrn ?? drawnMrn;
  const birth = `19${pad(40 + Math.floor(random() * 60), 2)}${pad(1 + Math.floor(random() * 12), 2)}${pad(1 + Math.floor(random() * 28), 2)}`;
  const visit = `V${pad(Math.floor(random() * 1e8), 8)}`;
  const msh = [
    'MSH',
    // encoding-change: another subcomponent separator in MSH-2, as a misconfigured engine sends.
    drift === 'encoding-change' ? '^~\\#' : '^~\\&',
    options.sendingApplication ?? 'SIMEHR',
    options.sendingFacility ?? 'SIMHOSP',
    'EHRFLOW',
    'EHRFLOW',
    '20261205120000',
    '',
    `${code}^${event}^${code}_${event}`,
    options.controlId,
    'P',
    version,
    '',
    '',
    options.acceptAck ?? '',
    options.applicationAck ?? '',
  ].join('|');
  const birthField = drift === 'type-change' ? 'UNKNOWN' : birth;
  // birthdate-moved: PID-7 left empty, the date sent in PID-8 (as a misconfigured upgrade does).
  const pid = [
    'PID',
    '1',
    '',
    `${mrn}^^^SIMHOSP^MR`,
    '',
    // Drawn even when planted, so a planted patient leaves the rest of the feed unchanged.
    nameOf(pick(FAMILY), pick(GIVEN), options.patient),
    '',
    drift === 'birthdate-moved' ? '' : birthField,
    drift === 'birthdate-moved' ? birth : pick(['F', 'M', 'U']),
    '',
    '',
    `${100 + Math.floor(random() * 900)} Synthetic Way^^Testville^ZZ^00000`,
  ].join('|');
  const pv1 = [
    'PV1',
    '1',
    pick(['I', 'O', 'E']),
    `WARD${Math.floor(random() * 9)}^${100 + Math.floor(random() * 50)}^1`,
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    '',
    visit,
  ].join('|');
  const segments = code === 'ADT' ? [msh, 'EVN||20261205120000', pid, pv1] : [msh, pid, pv1];
  if (code === 'ADT') {
    segments.push(`DG1|1||${pick(ICD)}^Synthetic diagnosis^I10||20261205`);
    segments.push(`AL1|1|DA|${pick(ALLERGENS)}^Synthetic allergen^L|MO`);
  } else {
    segments.push(
      `OBR|1|ORD${pad(Math.floor(random() * 1e6), 6)}||24323-8^Metabolic panel^LN|||20261205110000`,
    );
    let i = 1;
    for (const [loinc, name, unit, lo, hi] of LOINC) {
      const value = (lo + random() * (hi - lo)).toFixed(1);
      segments.push(`OBX|${i}|NM|${loinc}^${name}^LN||${value}|${unit}|${lo}-${hi}|N|||F|||20261205113000`);
      i += 1;
    }
    if (options.note !== undefined)
      segments.push(`OBX|${i}|ST|11526-1^Pathology study^LN||${options.note}||||||F|||20261205113000`);
  }
  if (drift === 'z-segment') segments.push('ZPI|1|SIMVENDOR|EXTRA');
  const target = options.targetBytes ?? 0;
  let length = segments.reduce((n, s) => n + s.length + 1, 0);
  let note = 1;
  while (length < target) {
    const nte = `NTE|${note}||Synthetic note ${note} for load testing only, no clinical meaning.`;
    segments.push(nte);
    length += nte.length + 1;
    note += 1;
  }
  return segments.join('\r') + '\r';
}

export interface BatchOptions {
  readonly batchId: string;
  readonly sendingApplication?: string;
  readonly sendingFacility?: string;
  /** What BTS-1 claims; defaults to the true count. A lying trailer sets another number. */
  readonly declaredCount?: number;
  /** Wrap in FHS/FTS too. */
  readonly file?: boolean;
}

/** A batch `[FHS] BHS {MSH…} BTS [FTS]` around `messages`. */
export function syntheticBatch(messages: readonly string[], options: BatchOptions): string {
  const app = options.sendingApplication ?? 'SIMEHR';
  const fac = options.sendingFacility ?? 'SIMHOSP';
  const head = (seg: string) =>
    `${seg}|^~\\&|${app}|${fac}|EHRFLOW|EHRFLOW|20261205120000||||${options.batchId}`;
  const lines: string[] = [];
  if (options.file) lines.push(head('FHS'));
  lines.push(head('BHS'));
  for (const m of messages) lines.push(m.replace(/\r$/, ''));
  lines.push(`BTS|${options.declaredCount ?? messages.length}`);
  if (options.file) lines.push('FTS|1');
  return lines.join('\r') + '\r';
}
