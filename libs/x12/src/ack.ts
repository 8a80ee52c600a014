import type { X12Delimiters } from './delimiters.ts';
import type { EnvelopeProblem, GroupRef, InterchangeCheck, InterchangeHeader } from './envelope.ts';

/**
 * TA1 (interchange acknowledgment) and 999 (implementation acknowledgment) built from an
 * envelope check. They carry control numbers, segment ids, positions and codes — never the value
 * of an element (the 999's optional copy of bad data, IK4-04, is never sent).
 * @see ASC X12 005010X231A1 (999); TA1 in X12.6; code lists 716 (AK905), 717 (IK501/AK901),
 *   718 (IK502), 620 (IK304)
 */

/** A accepted, E accepted with errors noted, R rejected. */
export type AckCode = 'A' | 'E' | 'R';

/** TA105 interchange note codes used here. */
export const TA1_NOTE = {
  none: '000',
  controlMismatch: '001',
  groupCountInvalid: '021',
  invalidControlStructure: '022',
  prematureEnd: '023',
  invalidContent: '024',
  duplicate: '025',
} as const;
export type Ta1Note = (typeof TA1_NOTE)[keyof typeof TA1_NOTE];

/** IK502 transaction set syntax error codes used here (code list 718). */
export const IK5_CODE = {
  trailerMissing: '2',
  controlMismatch: '3',
  segmentCountMismatch: '4',
  segmentsInError: '5',
  controlNotUnique: '23',
} as const;

/** AK905 functional group syntax error codes used here (code list 716). */
export const AK9_CODE = {
  trailerMissing: '3',
  controlMismatch: '4',
  setCountMismatch: '5',
} as const;

/** A segment-level note for a set accepted with errors or rejected (IK3, optionally one IK4). */
export interface SegmentNote {
  /** Segment id, position in the set (ST is 1), loop id when known, IK304 code. */
  readonly segment: string;
  readonly position: number;
  readonly loop?: string;
  readonly code: string;
  /** Element position (IK401) and IK403 code, when the note is about one element. */
  readonly element?: { readonly position: number; readonly code: string };
}

/** What the acknowledgments need of our side. */
export interface AckParty {
  /** ISA05/06 of the acknowledgment (our qualifier and id). */
  readonly qualifier: string;
  readonly id: string;
  /** GS02 of a 999. */
  readonly applicationCode: string;
}

export interface AckOptions {
  readonly party: AckParty;
  /** ISA13 of the acknowledgment interchange (1..999999999). */
  readonly controlNumber: number;
  readonly now?: Date;
  /** Delimiters of the acknowledgment (defaults `*`, `:`, `^`, `~`). */
  readonly delimiters?: X12Delimiters;
}

const DEFAULT_DELIMITERS: X12Delimiters = { element: '*', component: ':', repetition: '^', segment: '~' };

const pad = (s: string, n: number): string => s.slice(0, n).padEnd(n, ' ');
const digits = (n: number, width: number): string => String(n).padStart(width, '0');

function stamp(now: Date): { yymmdd: string; ccyymmdd: string; hhmm: string } {
  const y = now.getUTCFullYear();
  const mmdd = digits(now.getUTCMonth() + 1, 2) + digits(now.getUTCDate(), 2);
  return {
    yymmdd: digits(y % 100, 2) + mmdd,
    ccyymmdd: String(y) + mmdd,
    hhmm: digits(now.getUTCHours(), 2) + digits(now.getUTCMinutes(), 2),
  };
}

/** TA105 of each interchange-level problem; group and set problems are the 999's. */
const TA1_NOTE_OF: Readonly<Partial<Record<EnvelopeProblem['kind'], Ta1Note>>> = {
  interchange_control_mismatch: TA1_NOTE.controlMismatch,
  group_count_mismatch: TA1_NOTE.groupCountInvalid,
  interchange_trailer_missing: TA1_NOTE.prematureEnd,
  segment_unterminated: TA1_NOTE.prematureEnd,
  segment_outside_group: TA1_NOTE.invalidControlStructure,
  data_after_trailer: TA1_NOTE.invalidControlStructure,
};

/** The TA1 code and note of an interchange outcome. */
export function ta1Of(check: InterchangeCheck, duplicate = false): { code: AckCode; note: Ta1Note } {
  const p = check.problem;
  if (p === undefined)
    return duplicate ? { code: 'E', note: TA1_NOTE.duplicate } : { code: 'A', note: TA1_NOTE.none };
  if (p.level !== 'interchange') return { code: 'A', note: TA1_NOTE.none };
  return { code: 'R', note: TA1_NOTE_OF[p.kind] ?? TA1_NOTE.invalidContent };
}

function envelope(
  header: InterchangeHeader | undefined,
  options: AckOptions,
  body: (d: X12Delimiters, seg: (...elements: string[]) => string) => string[],
  groups: number,
): string {
  const d = options.delimiters ?? DEFAULT_DELIMITERS;
  const seg = (...elements: string[]) => elements.join(d.element) + d.segment;
  const t = stamp(options.now ?? new Date());
  const control = digits(options.controlNumber, 9);
  const isa = [
    'ISA',
    '00',
    pad('', 10),
    '00',
    pad('', 10),
    pad(options.party.qualifier, 2),
    pad(options.party.id, 15),
    pad(header?.senderQualifier ?? 'ZZ', 2),
    pad(header?.senderId ?? 'UNKNOWN', 15),
    t.yymmdd,
    t.hhmm,
    d.repetition ?? 'U',
    '00501',
    control,
    '0',
    header?.usage === 'T' ? 'T' : 'P',
    d.component,
  ];
  return [seg(...isa), ...body(d, seg), seg('IEA', String(groups), control)].join('\n') + '\n';
}

/**
 * A TA1 interchange: ISA, TA1, IEA (no functional group). Needs the sender's ISA; an input so
 * broken that no ISA was read cannot be acknowledged and gets none.
 */
export function buildTa1(
  check: InterchangeCheck,
  options: AckOptions,
  duplicate = false,
): string | undefined {
  const h = check.header;
  if (h === undefined) return undefined;
  const { code, note } = ta1Of(check, duplicate);
  return envelope(h, options, (_d, seg) => [seg('TA1', h.controlNumber, h.date, h.time, code, note)], 0);
}

/** IK502 of each set-level problem. */
const IK5_OF: Readonly<Partial<Record<EnvelopeProblem['kind'], string>>> = {
  set_trailer_missing: IK5_CODE.trailerMissing,
  set_control_mismatch: IK5_CODE.controlMismatch,
  segment_count_mismatch: IK5_CODE.segmentCountMismatch,
  set_control_duplicate: IK5_CODE.controlNotUnique,
};
const ik5Of = (p: EnvelopeProblem): string => IK5_OF[p.kind] ?? IK5_CODE.segmentsInError;

/** AK905 of each group-level problem. */
const AK9_OF: Readonly<Partial<Record<EnvelopeProblem['kind'], string>>> = {
  group_trailer_missing: AK9_CODE.trailerMissing,
  group_control_mismatch: AK9_CODE.controlMismatch,
  set_count_mismatch: AK9_CODE.setCountMismatch,
};
const ak9Of = (p: EnvelopeProblem): string | undefined => AK9_OF[p.kind];

/** Per-set notes for a 999 of an accepted interchange: the caller's content findings. */
export type SetNotes = ReadonlyMap<
  number,
  { readonly code: AckCode; readonly notes: readonly SegmentNote[] }
>;

/**
 * A 999 interchange: one 999 transaction set per functional group received, one AK2/IK5 per
 * transaction set. When the interchange is refused whole (any envelope problem), every set is
 * reported `R` — those in error with their IK5 code, the others without one, since they were
 * refused with their file — and every group's AK9 is `R` with 0 accepted. Otherwise sets are `A`
 * or as `notes` says (E accepted with errors, R rejected), and AK9 follows (A, E, P partially
 * accepted, R).
 * Returns undefined when there is nothing a 999 can speak about (no group read): the TA1 does.
 */
export function build999(
  check: InterchangeCheck,
  options: AckOptions,
  notes: SetNotes = new Map(),
): string | undefined {
  const groups: GroupRef[] = [...check.groups];
  if (groups.length === 0) return undefined;
  const problem = check.problem;
  const refusedWhole = problem !== undefined;
  return envelope(
    check.header,
    options,
    (d, seg) => {
      const t = stamp(options.now ?? new Date());
      const out: string[] = [];
      const gsControl = String(options.controlNumber);
      out.push(
        seg(
          'GS',
          'FA',
          options.party.applicationCode,
          groups[0]?.header.senderCode ?? '',
          t.ccyymmdd,
          t.hhmm,
          gsControl,
          'X',
          '005010X231A1',
        ),
      );
      for (const [gi, group] of groups.entries()) {
        const body: string[] = [];
        const stControl = digits(gi + 1, 4);
        body.push(seg('ST', '999', stControl, '005010X231A1'));
        body.push(seg('AK1', group.header.functionalId, group.header.controlNumber, group.header.version));
        let accepted = 0;
        const sets = [...group.sets];
        // A set the problem stopped in was never completed: it is reported too, as far as known.
        const problemSet = refusedWhole && problem.level === 'set' && problem.groupIndex === gi;
        for (const set of sets) {
          body.push(seg('AK2', set.type, set.controlNumber, ...(set.reference ? [set.reference] : [])));
          if (refusedWhole) {
            body.push(seg('IK5', 'R'));
            continue;
          }
          const note = notes.get(set.index);
          for (const n of note?.notes ?? []) {
            body.push(seg('IK3', n.segment, String(n.position), n.loop ?? '', n.code));
            if (n.element) body.push(seg('IK4', String(n.element.position), '', n.element.code));
          }
          const code = note?.code ?? 'A';
          if (code !== 'R') accepted += 1;
          body.push(seg('IK5', code, ...(code === 'A' ? [] : [IK5_CODE.segmentsInError])));
        }
        if (problemSet) {
          body.push(seg('AK2', problem.set?.type ?? '', problem.set?.controlNumber ?? ''));
          if (problem.segment !== null && problem.set !== undefined)
            body.push(
              seg(
                'IK3',
                problem.segment,
                String(problem.set.position),
                '',
                problem.kind === 'set_trailer_missing' ? '7' : '8',
              ),
            );
          body.push(seg('IK5', 'R', ik5Of(problem)));
        }
        const received = sets.length + (problemSet ? 1 : 0);
        let ak9: string;
        if (refusedWhole) {
          const code = problem.level === 'group' && problem.groupIndex === gi ? ak9Of(problem) : undefined;
          ak9 = seg('AK9', 'R', String(received), String(received), '0', ...(code ? [code] : []));
        } else {
          const anyE = sets.some((s) => notes.get(s.index)?.code === 'E');
          const groupCode =
            accepted === 0 && received > 0 ? 'R' : accepted < received ? 'P' : anyE ? 'E' : 'A';
          ak9 = seg('AK9', groupCode, String(received), String(received), String(accepted));
        }
        body.push(ak9);
        body.push(seg('SE', String(body.length + 1), stControl));
        out.push(...body);
      }
      out.push(seg('GE', String(groups.length), gsControl));
      void d;
      return out;
    },
    1,
  );
}
