import type { X12Delimiters } from './delimiters.ts';
import { X12Tokenizer, type TokenizerOptions, type TokenizerProblem, type X12Segment } from './tokenizer.ts';

/**
 * Envelope integrity of one interchange: ISA/IEA, GS/GE and ST/SE control numbers must match and
 * the trailer counts must equal what was found. The check streams (segments are looked at once and
 * dropped); what it keeps is one small record per transaction set — control numbers and byte
 * ranges — so a receiver can cut the file into transaction sets afterwards.
 * @see ASC X12.6 Application Control Structure; 005010X231A1 (999) and TA1 note codes
 */

/** The ISA fields a receiver needs (trading-partner ids and control numbers, no patient data). */
export interface InterchangeHeader {
  readonly senderQualifier: string;
  readonly senderId: string;
  readonly receiverQualifier: string;
  readonly receiverId: string;
  /** ISA09 YYMMDD and ISA10 HHMM, echoed in a TA1. */
  readonly date: string;
  readonly time: string;
  /** ISA12. */
  readonly version: string;
  /** ISA13, nine digits. */
  readonly controlNumber: string;
  /** ISA15: P production, T test. */
  readonly usage: string;
  /** Byte range of the ISA segment. */
  readonly start: number;
  readonly end: number;
}

export interface GroupHeader {
  /** GS01 (HC claims, HP payment/advice, FA acknowledgments). */
  readonly functionalId: string;
  readonly senderCode: string;
  readonly receiverCode: string;
  /** GS06. */
  readonly controlNumber: string;
  /** GS08 (`005010X222A1`). */
  readonly version: string;
  readonly start: number;
  readonly end: number;
}

/** One transaction set (ST…SE) as found: identity and byte range, not content. */
export interface TransactionSetRef {
  /** ST01 (`837`, `835`). */
  readonly type: string;
  /** ST02. */
  readonly controlNumber: string;
  /** ST03 when present. */
  readonly reference: string;
  /** Index of the group in the interchange (0-based) and of the set in the interchange (0-based). */
  readonly groupIndex: number;
  readonly index: number;
  /** Ordinal of the ST segment in the file. */
  readonly ordinal: number;
  /** Segments from ST to SE inclusive. */
  readonly segments: number;
  /** Byte range from the first byte of ST to the end of SE. */
  readonly start: number;
  readonly end: number;
}

export interface GroupRef {
  readonly header: GroupHeader;
  readonly sets: readonly TransactionSetRef[];
}

/**
 * Why an interchange is refused. The level says which acknowledgment reports it: `interchange`
 * a TA1, `group` and `set` a 999.
 */
export interface EnvelopeProblem {
  readonly kind:
    | TokenizerProblem['kind']
    | 'interchange_trailer_missing'
    | 'interchange_control_mismatch'
    | 'group_count_mismatch'
    | 'segment_outside_group'
    | 'data_after_trailer'
    | 'group_trailer_missing'
    | 'group_control_mismatch'
    | 'set_count_mismatch'
    | 'segment_outside_set'
    | 'set_trailer_missing'
    | 'set_control_mismatch'
    | 'segment_count_mismatch'
    | 'set_control_duplicate';
  readonly level: 'interchange' | 'group' | 'set';
  /** Segment id and ordinal in the file where it was found (`SE` segment 42). */
  readonly segment: string | null;
  readonly ordinal: number;
  /** Group and set index concerned, when one. */
  readonly groupIndex: number | null;
  readonly setIndex: number | null;
  /** The set the problem stopped in (ST01, ST02, the segment's position in it), at level `set`. */
  readonly set?: { readonly type: string; readonly controlNumber: string; readonly position: number };
  /** Trailer count and actual count, for count mismatches. */
  readonly declared?: number;
  readonly found?: number;
}

export interface InterchangeCheck {
  readonly delimiters: X12Delimiters | undefined;
  readonly header: InterchangeHeader | undefined;
  readonly groups: readonly GroupRef[];
  /** Every transaction set found, in order. */
  readonly sets: readonly TransactionSetRef[];
  readonly problem: EnvelopeProblem | undefined;
  /** Bytes read. */
  readonly bytes: number;
}

interface OpenGroup {
  readonly header: GroupHeader;
  readonly sets: TransactionSetRef[];
  readonly controls: Set<string>;
}

interface OpenSet {
  readonly type: string;
  readonly controlNumber: string;
  readonly reference: string;
  readonly ordinal: number;
  readonly start: number;
  count: number;
}

const LEVEL_OF_TOKENIZER: EnvelopeProblem['level'] = 'interchange';

/** A streaming checker: feed chunks, then `finish()`. */
export class X12EnvelopeChecker {
  readonly #tokenizer: X12Tokenizer;
  #state: 'start' | 'interchange' | 'group' | 'set' | 'ended' = 'start';
  #header: InterchangeHeader | undefined;
  #groups: OpenGroup[] = [];
  #sets: TransactionSetRef[] = [];
  #set: OpenSet | undefined;
  #problem: EnvelopeProblem | undefined;
  #last: X12Segment | undefined;

  constructor(options: TokenizerOptions = {}) {
    this.#tokenizer = new X12Tokenizer(options);
  }

  get problem(): EnvelopeProblem | undefined {
    return this.#problem;
  }

  push(chunk: Buffer): void {
    if (this.#problem !== undefined) return;
    for (const segment of this.#tokenizer.push(chunk)) {
      this.#segment(segment);
      if (this.#problem !== undefined) return;
    }
    this.#fromTokenizer(this.#tokenizer.problem);
  }

  finish(): InterchangeCheck {
    if (this.#problem === undefined) this.#fromTokenizer(this.#tokenizer.finish());
    if (this.#problem === undefined && this.#state !== 'ended') {
      // Cut short: the file ends inside the interchange (a transfer that stopped, a full disk).
      this.#fail('interchange_trailer_missing', 'interchange', this.#last);
    }
    return {
      delimiters: this.#tokenizer.delimiters,
      header: this.#header,
      groups: this.#groups.map((g) => ({ header: g.header, sets: g.sets })),
      sets: this.#sets,
      problem: this.#problem,
      bytes: this.#tokenizer.offset,
    };
  }

  #fromTokenizer(problem: TokenizerProblem | undefined): void {
    if (problem === undefined || this.#problem !== undefined) return;
    this.#problem = {
      kind: problem.kind,
      level: LEVEL_OF_TOKENIZER,
      segment: null,
      ordinal: problem.ordinal,
      groupIndex: null,
      setIndex: null,
    };
  }

  #fail(
    kind: EnvelopeProblem['kind'],
    level: EnvelopeProblem['level'],
    at: X12Segment | undefined,
    counts: { declared?: number; found?: number } = {},
  ): void {
    const groupIndex = this.#groups.length === 0 || level === 'interchange' ? null : this.#groups.length - 1;
    this.#problem ??= {
      kind,
      level,
      segment: at?.id ?? null,
      ordinal: at?.ordinal ?? 0,
      groupIndex,
      setIndex: level === 'set' ? this.#sets.length : null,
      ...(level === 'set' && this.#set !== undefined
        ? {
            set: {
              type: this.#set.type,
              controlNumber: this.#set.controlNumber,
              position:
                at?.id === 'ST' && at.ordinal === this.#set.ordinal
                  ? 1
                  : this.#set.count + (at?.id === 'SE' ? 0 : 1),
            },
          }
        : {}),
      ...counts,
    };
  }

  #segment(s: X12Segment): void {
    this.#last = s;
    const e = (i: number): string => s.elements[i] ?? '';
    switch (this.#state) {
      case 'start':
        // The tokenizer guarantees the first segment is the ISA.
        this.#header = {
          senderQualifier: e(5).trim(),
          senderId: e(6).trim(),
          receiverQualifier: e(7).trim(),
          receiverId: e(8).trim(),
          date: e(9),
          time: e(10),
          version: e(12),
          controlNumber: e(13),
          usage: e(15),
          start: s.start,
          end: s.end,
        };
        this.#state = 'interchange';
        return;
      case 'ended':
        this.#fail('data_after_trailer', 'interchange', s);
        return;
      case 'interchange':
        if (s.id === 'GS') {
          this.#groups.push({
            header: {
              functionalId: e(1),
              senderCode: e(2),
              receiverCode: e(3),
              controlNumber: e(6),
              version: e(8),
              start: s.start,
              end: s.end,
            },
            sets: [],
            controls: new Set(),
          });
          this.#state = 'group';
        } else if (s.id === 'IEA') {
          if (e(2) !== this.#header?.controlNumber)
            this.#fail('interchange_control_mismatch', 'interchange', s);
          else if (!countMatches(e(1), this.#groups.length))
            this.#fail('group_count_mismatch', 'interchange', s, {
              declared: countOf(e(1)),
              found: this.#groups.length,
            });
          else this.#state = 'ended';
        } else {
          this.#fail('segment_outside_group', 'interchange', s);
        }
        return;
      case 'group': {
        const group = this.#groups.at(-1) as OpenGroup;
        if (s.id === 'ST') {
          this.#set = {
            type: e(1),
            controlNumber: e(2),
            reference: e(3),
            ordinal: s.ordinal,
            start: s.start,
            count: 1,
          };
          this.#state = 'set';
          if (group.controls.has(e(2))) this.#fail('set_control_duplicate', 'set', s);
          group.controls.add(e(2));
        } else if (s.id === 'GE') {
          if (e(2) !== group.header.controlNumber) this.#fail('group_control_mismatch', 'group', s);
          else if (!countMatches(e(1), group.sets.length))
            this.#fail('set_count_mismatch', 'group', s, {
              declared: countOf(e(1)),
              found: group.sets.length,
            });
          else this.#state = 'interchange';
        } else if (s.id === 'IEA' || s.id === 'GS' || s.id === 'ISA') {
          this.#fail('group_trailer_missing', 'group', s);
        } else {
          this.#fail('segment_outside_set', 'group', s);
        }
        return;
      }
      case 'set': {
        const set = this.#set as OpenSet;
        if (s.id === 'SE') {
          set.count += 1;
          if (e(2) !== set.controlNumber) {
            this.#fail('set_control_mismatch', 'set', s);
            return;
          }
          if (!countMatches(e(1), set.count)) {
            this.#fail('segment_count_mismatch', 'set', s, { declared: countOf(e(1)), found: set.count });
            return;
          }
          const group = this.#groups.at(-1) as OpenGroup;
          const ref: TransactionSetRef = {
            type: set.type,
            controlNumber: set.controlNumber,
            reference: set.reference,
            groupIndex: this.#groups.length - 1,
            index: this.#sets.length,
            ordinal: set.ordinal,
            segments: set.count,
            start: set.start,
            end: s.end,
          };
          group.sets.push(ref);
          this.#sets.push(ref);
          this.#set = undefined;
          this.#state = 'group';
        } else if (s.id === 'ST' || s.id === 'GE' || s.id === 'GS' || s.id === 'IEA' || s.id === 'ISA') {
          this.#fail('set_trailer_missing', 'set', s);
        } else {
          set.count += 1;
        }
        return;
      }
    }
  }
}

/** A trailer count is digits and equals the count found (leading zeros allowed). */
function countMatches(text: string, found: number): boolean {
  return /^\d{1,10}$/.test(text) && Number(text) === found;
}

/** The declared count when it is a number (a count is never PHI); -1 when it is not digits. */
function countOf(text: string): number {
  return /^\d{1,10}$/.test(text) ? Number(text) : -1;
}

/** Checks a whole interchange from a stream of chunks (a file read stream). */
export async function checkInterchange(
  chunks: AsyncIterable<Buffer | string> | Iterable<Buffer | string>,
  options: TokenizerOptions = {},
): Promise<InterchangeCheck> {
  const checker = new X12EnvelopeChecker(options);
  for await (const chunk of chunks) {
    checker.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
    if (checker.problem !== undefined) break;
  }
  return checker.finish();
}
