import {
  FUNCTIONAL_ID,
  GUIDE,
  seededRandom,
  syntheticSet,
  type SetDrift,
  type SetKind,
  type SimClaim,
  type SimPlant,
} from './claims.ts';

/** The delimiters of a file: the usual `*` `:` `^` `~`, or odd ones a sender may choose. */
export interface SimDelimiters {
  readonly element: string;
  readonly component: string;
  readonly repetition: string;
  readonly segment: string;
}

export const USUAL_DELIMITERS: SimDelimiters = {
  element: '*',
  component: ':',
  repetition: '^',
  segment: '~',
};
/** Pipes, carets, a newline as terminator: legal, and a test of reading delimiters from the ISA. */
export const ODD_DELIMITERS: SimDelimiters = { element: '|', component: '>', repetition: '!', segment: '\n' };

/**
 * A fault in a file: `cut` (the file stops at `cutAt` of its length, as a transfer that died),
 * `se-count`, `ge-count`, `iea-count` (a trailer count off by one), `se-control` (SE02 differs
 * from ST02), `none`. A duplicate interchange is two files with the same sender and ISA13.
 */
export type FileFault = 'none' | 'cut' | 'se-count' | 'ge-count' | 'iea-count' | 'se-control';

export interface InterchangeOptions {
  readonly seed: number;
  /** ISA13, 1..999999999. */
  readonly controlNumber: number;
  /** ISA06 of the sender (15 chars at most). */
  readonly senderId?: string;
  readonly receiverId?: string;
  /** Functional groups, each with its kind and number of transaction sets. */
  readonly groups: readonly {
    readonly kind: SetKind;
    readonly sets: number;
    readonly claimsPerSet?: number;
    /** Share of 837 claims in a patient loop 2000C (the patient is a dependent); default 0. */
    readonly dependentShare?: number;
  }[];
  readonly delimiters?: SimDelimiters;
  /** Line break after each terminator (`\n` or `\r\n`), as many senders write. */
  readonly lineBreak?: '' | '\n' | '\r\n';
  readonly fault?: FileFault;
  /** Where a `cut` stops, as a fraction of the file (default 0.6). */
  readonly cutAt?: number;
  /** Drift in the n-th transaction set of the file (0-based), from then on every set when `driftFrom`. */
  readonly drift?: { readonly kind: SetDrift; readonly from: number };
  /** Canary values in the first claim of the n-th transaction set (0-based; an 837 set). */
  readonly plant?: SimPlant & { readonly set: number };
}

export interface SimFile {
  readonly bytes: Buffer;
  /** Transaction sets written (ST02 in order) and the claims in them. */
  readonly sets: readonly {
    readonly kind: SetKind;
    readonly controlNumber: string;
    readonly claims: readonly SimClaim[];
  }[];
}

const pad = (s: string, n: number): string => s.slice(0, n).padEnd(n, ' ');
const digits = (n: number, w: number): string => String(n).padStart(w, '0');

/** One synthetic interchange file. */
export function syntheticInterchange(options: InterchangeOptions): SimFile {
  const random = seededRandom(options.seed);
  const d = options.delimiters ?? USUAL_DELIMITERS;
  const lb = d.segment === '\n' ? '' : (options.lineBreak ?? '\n');
  const fault = options.fault ?? 'none';
  const out: string[] = [];
  const seg = (elements: readonly string[]) => out.push(elements.join(d.element) + d.segment + lb);
  const isa13 = digits(options.controlNumber, 9);
  seg([
    'ISA',
    '00',
    pad('', 10),
    '00',
    pad('', 10),
    'ZZ',
    pad(options.senderId ?? 'SIMCLEARING', 15),
    'ZZ',
    pad(options.receiverId ?? 'EHRFLOW', 15),
    '260115',
    '1200',
    d.repetition,
    '00501',
    isa13,
    '1',
    'T',
    d.component,
  ]);
  const sets: { kind: SetKind; controlNumber: string; claims: SimClaim[] }[] = [];
  let setIndex = 0;
  for (const [gi, group] of options.groups.entries()) {
    const gs06 = String(options.controlNumber * 10 + gi + 1).slice(-9);
    seg([
      'GS',
      FUNCTIONAL_ID[group.kind],
      'SIMCLEARING',
      'EHRFLOW',
      '20260115',
      '1200',
      gs06,
      'X',
      GUIDE[group.kind],
    ]);
    for (let s = 0; s < group.sets; s += 1) {
      const st02 = digits(setIndex + 1, 4);
      const drift =
        options.drift !== undefined && setIndex >= options.drift.from ? options.drift.kind : 'none';
      const { segments, claims } = syntheticSet(random, {
        kind: group.kind,
        controlNumber: st02,
        ...(group.claimsPerSet !== undefined ? { claims: group.claimsPerSet } : {}),
        ...(group.dependentShare !== undefined ? { dependentShare: group.dependentShare } : {}),
        ...(options.plant?.set === setIndex ? { plant: options.plant } : {}),
        drift,
      });
      for (const segment of segments) {
        if (segment[0] === 'SE' && setIndex === 0 && fault === 'se-count')
          seg(['SE', String(Number(segment[1]) + 1), segment[2] as string]);
        else if (segment[0] === 'SE' && setIndex === 0 && fault === 'se-control')
          seg(['SE', segment[1] as string, '9999']);
        else seg(segment.map((e) => (e.includes(':') ? e.replaceAll(':', d.component) : e)));
      }
      sets.push({ kind: group.kind, controlNumber: st02, claims });
      setIndex += 1;
    }
    seg(['GE', String(group.sets + (fault === 'ge-count' && gi === 0 ? 1 : 0)), gs06]);
  }
  seg(['IEA', String(options.groups.length + (fault === 'iea-count' ? 1 : 0)), isa13]);
  let bytes = Buffer.from(out.join(''), 'latin1');
  if (fault === 'cut') bytes = bytes.subarray(0, Math.floor(bytes.length * (options.cutAt ?? 0.6)));
  return { bytes, sets };
}
