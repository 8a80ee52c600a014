import type { IdentifierKind } from '../known-identifiers.ts';
import {
  WORD_NAMES,
  inventedName,
  personName,
  pick,
  seededRng,
  type PersonName,
  type Rng,
  type Split,
} from './corpus-names.ts';

/**
 * A labelled evaluation corpus of synthetic clinical notes, generated at run time (seeded,
 * reproducible, no real data): every identifier is annotated with its character span and class,
 * and clinical words that must survive are annotated as `KEEP`.
 *
 * Two splits with separate template sets and name sources: `dev` (what the detector was tuned
 * on) and `heldout` (other phrasings, invented names only, another seed) — the figures that count.
 */

export const IDENTIFIER_CLASSES = [
  'NAME',
  'DATE',
  'AGE',
  'PHONE',
  'EMAIL',
  'URL',
  'IP',
  'SSN',
  'ID',
  'ADDRESS',
] as const;
export type IdentifierClass = (typeof IDENTIFIER_CLASSES)[number];
export type SpanClass = IdentifierClass | 'KEEP';

export interface LabelledSpan {
  readonly start: number;
  readonly end: number;
  readonly cls: SpanClass;
}

export interface LabelledNote {
  readonly text: string;
  readonly spans: readonly LabelledSpan[];
  /** The patient's identifiers as the record would hold them (for the `known` layer). */
  readonly known: readonly (readonly [IdentifierKind, string])[];
}

class NoteBuilder {
  text = '';
  readonly spans: LabelledSpan[] = [];
  t(s: string): this {
    this.text += s;
    return this;
  }
  s(cls: SpanClass, value: string): this {
    this.spans.push({ start: this.text.length, end: this.text.length + value.length, cls });
    this.text += value;
    return this;
  }
}

interface People {
  readonly patient: PersonName;
  readonly relative: PersonName;
  readonly clinician: PersonName;
  readonly other: PersonName;
  readonly mrn: string;
  readonly phone: string;
  readonly birthDate: string;
}

type Template = (b: NoteBuilder, r: Rng, p: People, split: Split) => void;

const digits = (r: Rng, n: number): string => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
const letter = (r: Rng): string => pick(r, [...'ABCDEFGHJKLMNPRSTUVWXYZ']);
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const MON = MONTHS.map((m) => m.slice(0, 3));
const pad = (n: number): string => String(n).padStart(2, '0');
const ord = (d: number): string =>
  `${d}${d % 10 === 1 && d !== 11 ? 'st' : d % 10 === 2 && d !== 12 ? 'nd' : d % 10 === 3 && d !== 13 ? 'rd' : 'th'}`;

/** A name as it appears in a note: usually Title Case, sometimes all caps or lower case. */
function styled(r: Rng, name: string): string {
  const x = r();
  return x < 0.08 ? name.toUpperCase() : x < 0.14 ? name.toLowerCase() : name;
}

function name(
  b: NoteBuilder,
  r: Rng,
  n: PersonName,
  form: 'full' | 'given' | 'family' | 'inverted' = 'full',
): void {
  const g = styled(r, n.given);
  const f = styled(r, n.family);
  if (form === 'given') b.s('NAME', g);
  else if (form === 'family') b.s('NAME', f);
  else if (form === 'inverted') b.s('NAME', f).t(', ').s('NAME', g);
  else b.s('NAME', g).t(' ').s('NAME', f);
}

function date(b: NoteBuilder, r: Rng, withYear = true): void {
  const y = 1930 + Math.floor(r() * 94);
  const m = 1 + Math.floor(r() * 12);
  const d = 1 + Math.floor(r() * 28);
  const forms = withYear
    ? [
        `${pad(m)}/${pad(d)}/${y}`,
        `${d}-${MON[m - 1]}-${y}`,
        `${y}-${pad(m)}-${pad(d)}`,
        `${MONTHS[m - 1]} ${d}, ${y}`,
        `${m}/${d}/${String(y).slice(2)}`,
        `${d} ${MONTHS[m - 1]} ${y}`,
        `${pad(d)}.${pad(m)}.${y}`,
      ]
    : [
        `${MONTHS[m - 1]} ${ord(d)}`,
        `${MON[m - 1]} ${d}`,
        `${ord(d)} of ${MONTHS[m - 1]}`,
        `${d} ${MON[m - 1]}`,
      ];
  b.s('DATE', pick(r, forms));
}

function phone(r: Rng): string {
  const a = `${2 + Math.floor(r() * 8)}${digits(r, 2)}`;
  const x = digits(r, 3);
  const y = digits(r, 4);
  return pick(r, [
    `(${a}) ${x}-${y}`,
    `${a}-${x}-${y}`,
    `${a}.${x}.${y}`,
    `+1 ${a} ${x} ${y}`,
    `${a}${x}${y}`,
    `${x}-${y}`,
    `(${a})${x}-${y}`,
  ]);
}

function ssn(r: Rng): string {
  const [a, b, c] = [digits(r, 3).replace(/^0/, '1'), digits(r, 2), digits(r, 4)];
  return pick(r, [`${a}-${b}-${c}`, `${a} ${b} ${c}`, `${a}${b}${c}`]);
}

function age90(r: Rng): [string, string] {
  const n = 91 + Math.floor(r() * 14);
  const words = [
    'ninety',
    'ninety-one',
    'ninety-two',
    'ninety three',
    'ninety-five',
    'ninety-seven',
    'one hundred',
    'one hundred and one',
  ];
  return pick(r, [
    [`${n}`, '-year-old'],
    [`${n}`, ' yo'],
    [`${n}`, ' y/o'],
    [pick(r, words), '-year-old'],
    [pick(r, words), ' year old'],
  ]);
}

function street(r: Rng, split: Split): string {
  const base = pick(r, [
    'Elm',
    'Maple',
    'Quarry',
    'Harbor',
    'Orchard',
    'Mill',
    inventedName(r, split),
    'Old Stage',
    '5th',
  ]);
  const type = pick(r, [
    'Street',
    'St',
    'Ave',
    'Road',
    'Rd.',
    'Lane',
    'Drive',
    'Court',
    'Way',
    'Row',
    'Close',
    'Crescent',
    'Terrace',
  ]);
  const unit = r() < 0.3 ? pick(r, [', Apt 4B', ' Unit 12', ', Suite 300']) : '';
  return `${1 + Math.floor(r() * 9000)} ${base} ${type}${unit}`;
}

const CITIES = [
  'Springfield',
  'Riverton',
  'Fairview',
  'Lakewood',
  'Greenville',
  'Ashford',
  'Milton',
  'Dover',
];
const STATES = ['MA', 'NY', 'OH', 'TX', 'CA', 'IL', 'PA', 'WA'];

function id(r: Rng): [string, string] {
  return pick(r, [
    ['MRN ', digits(r, 7)],
    ['MRN: ', `${letter(r)}${letter(r)}${digits(r, 6)}`],
    ['acct #', `${digits(r, 2)}-${digits(r, 5)}`],
    ['account number ', digits(r, 8)],
    ['member ID ', `${letter(r)}${letter(r)}${digits(r, 1)}-${digits(r, 5)}`],
    ['subscriber id: ', `${letter(r)}${digits(r, 9)}`],
    ['license no. ', `${letter(r)}${digits(r, 7)}`],
    ["driver's license ", `${letter(r)}${digits(r, 8)}`],
    ['certificate no. ', `${1990 + Math.floor(r() * 30)}-${digits(r, 5)}`],
    ['VIN ', `1HG${letter(r)}M8${digits(r, 4)}${letter(r)}${digits(r, 6)}`],
    ['plate ', `${digits(r, 1)}${letter(r)}${letter(r)}${letter(r)}${digits(r, 3)}`],
    ['pacemaker serial ', `${letter(r)}${letter(r)}${letter(r)}${digits(r, 6)}`],
    ['device ID ', `${digits(r, 2)}-${letter(r)}${digits(r, 5)}`],
    ['policy # ', `${letter(r)}${digits(r, 8)}`],
  ]);
}

/** Clinical sentences whose capitalised words must survive (eponyms, drugs, scores, units). */
const CLINICAL: readonly Template[] = [
  (b) => b.t('History of ').s('KEEP', 'Parkinson').t(' disease and ').s('KEEP', 'Crohn').t("'s disease. "),
  (b) => b.t('Prior ').s('KEEP', 'Hodgkin').t(' lymphoma, in remission. '),
  (b) => b.t('Early ').s('KEEP', 'Alzheimer').t(' dementia per family. '),
  (b) => b.t('Newborn ').s('KEEP', 'Apgar').t(' 8 and 9. '),
  (b) => b.s('KEEP', 'Glasgow').t(' Coma Scale 14 on arrival. '),
  (b, r) =>
    b
      .t('Started ')
      .s('KEEP', pick(r, ['Lisinopril', 'Metformin', 'Eliquis', 'Lasix', 'Zofran', 'Keppra', 'Plavix']))
      .t(` ${pick(r, ['10', '20', '500', '4', '40'])} mg PO daily. `),
  (b, r) =>
    b
      .t('Continue ')
      .s('KEEP', pick(r, ['atorvastatin', 'Coumadin', 'Seroquel', 'Ativan', 'Tylenol', 'Norvasc']))
      .t(' as before; INR 2.4. '),
  (b) => b.s('KEEP', 'Wilson').t(' disease ruled out, ceruloplasmin normal. '),
  (b) => b.s('KEEP', 'Bell').t("'s palsy resolving. "),
  (b) => b.s('KEEP', 'Wells').t(' score 2, D-dimer pending. '),
  (b) => b.t('Positive ').s('KEEP', 'Murphy').t(' sign; RUQ ultrasound ordered. '),
  (b) => b.s('KEEP', 'Graves').t(' disease on methimazole. '),
  (b) => b.t('BP 142/88, HR 96, SpO2 94% on 2 L NC. '),
  (b) => b.t('Creatinine 1.4 mg/dL, K 3.2 mmol/L. '),
  (b) => b.t('Gave ').s('KEEP', 'Narcan').t(' 0.4 mg IV with good response. '),
  (b) => b.s('KEEP', 'Foley').t(' catheter removed, voiding well. '),
  (b) => b.t('Pt denies chest pain, SOB or nausea. '),
  (b) => b.t('Ambulating with walker, fall risk per ').s('KEEP', 'Morse').t(' scale. '),
  (b) => b.t('Echo: EF 35%, moderate MR. '),
  (b) => b.t('Plan: repeat CBC and BMP in AM, NPO after midnight. '),
];

/** Identifier sentences of the development split. */
const DEV: readonly Template[] = [
  (b, r, p) => {
    b.t('Spoke with ');
    name(b, r, p.relative);
    b.t(` (${pick(r, ['daughter', 'son', 'wife', 'husband'])}) at `)
      .s('PHONE', phone(r))
      .t('. ');
  },
  (b, r, p) => {
    b.t('Called ');
    name(b, r, p.other);
    b.t(' about results; SSN ').s('SSN', ssn(r)).t(' verified. ');
  },
  (b, r, p) => {
    b.t('Seen with Dr. ');
    name(b, r, p.clinician, 'family');
    b.t(' on ');
    date(b, r);
    b.t('. ');
  },
  (b, r, p) => {
    b.t(`${pick(r, ['Daughter', 'Son', 'Wife', 'Husband', 'Niece'])} `);
    name(b, r, p.relative, 'given');
    b.t(' at bedside, updated on plan. ');
  },
  (b, r, p) => {
    b.t('Pt ');
    name(b, r, p.patient, 'family');
    b.t(' seen today, ');
    const [a, u] = age90(r);
    b.s('AGE', a).t(`${u}. `);
  },
  (b, r, p) => {
    b.t('Patient: ');
    name(b, r, p.patient, 'inverted');
    b.t('\nDOB: ');
    b.s('DATE', p.birthDate).t('\n');
  },
  (b, r, p) => {
    b.t('Emergency contact: ');
    name(b, r, p.relative);
    b.t(', ').s('PHONE', phone(r)).t('. ');
  },
  (b, r, p) => {
    b.t('\n');
    name(b, r, p.clinician);
    b.t(`, ${pick(r, ['MD', 'RN', 'NP', 'PA-C', 'DO'])}\n`);
  },
  (b, r, p) => {
    b.t('Mrs. ');
    name(b, r, p.relative, 'family');
    b.t(' called from ')
      .s('ADDRESS', street(r, 'dev'))
      .t(', ')
      .s('ADDRESS', pick(r, CITIES))
      .t(', ')
      .s('ADDRESS', pick(r, STATES))
      .t(' ')
      .s('ADDRESS', digits(r, 5))
      .t('. ');
  },
  (b, r, p) => {
    b.t('E-mail from ');
    name(b, r, p.other, 'given');
    b.t(': ')
      .s('EMAIL', `${p.other.given.toLowerCase().replace(/'/g, '')}.${digits(r, 2)}@example.org`)
      .t('. ');
  },
  (b, r) =>
    b
      .t('Portal link ')
      .s(
        'URL',
        pick(r, ['https://portal.example.org/r/', 'www.example-health.com/p/', 'example.net/chart/']) +
          digits(r, 5),
      )
      .t(' sent. '),
  (b, r) =>
    b
      .t('Device at ')
      .s('IP', `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${1 + Math.floor(r() * 254)}`)
      .t(' uploaded readings. '),
  (b, r) => {
    const [l, v] = id(r);
    b.t(`Verified ${l}`).s('ID', v).t('. ');
  },
  (b, r) => {
    b.t('Last seen ');
    date(b, r, false);
    b.t(', follow up on ')
      .s('DATE', `${1 + Math.floor(r() * 12)}/${1 + Math.floor(r() * 28)}`)
      .t('. ');
  },
  (b, r, p) => {
    b.t('Will ');
    b.t('call back tomorrow; ');
    name(b, r, { given: pick(r, WORD_NAMES.given), family: p.other.family });
    b.t(' agrees. ');
  },
  (b, r, p) => {
    b.t('Discussed with ')
      .s('NAME', pick(r, WORD_NAMES.given))
      .t(' ')
      .s('NAME', pick(r, WORD_NAMES.family))
      .t(' and Dr. ');
    name(b, r, p.clinician, 'family');
    b.t('. ');
  },
  (b, r, p) => {
    b.t('Lives with husband ');
    name(b, r, p.relative, 'given');
    b.t(' at ').s('ADDRESS', street(r, 'dev')).t('. ');
  },
  (b, r, p) => {
    b.t('Message left for ');
    name(b, r, p.other);
    b.t(' at ').s('PHONE', phone(r)).t(' and fax ').s('PHONE', phone(r)).t('. ');
  },
  (b, r, p) => {
    b.t('c/o ');
    name(b, r, p.relative);
    b.t(', zip ').s('ADDRESS', digits(r, 5)).t('. ');
  },
  (b, r, p) => {
    b.t('Per ');
    name(b, r, p.clinician);
    b.t(' (cardiology), echo on ');
    date(b, r);
    b.t('. ');
  },
  (b, r, p) => {
    b.t('(');
    name(b, r, p.other, 'family');
    b.t(') ');
    b.t('Rx faxed to pharmacy, ').s('PHONE', phone(r)).t('. ');
  },
  (b, r, p) => {
    b.t('Signed: ');
    name(b, r, p.clinician);
    b.t(' ')
      .s(
        'DATE',
        `${2020 + Math.floor(r() * 5)}-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}`,
      )
      .t('\n');
  },
  (b, r, p) => {
    b.t(`Mother ${pick(r, ['is', 'was'])} `);
    const [a, u] = age90(r);
    b.s('AGE', a).t(`${u}; neighbour `);
    name(b, r, p.other);
    b.t(' checks in daily. ');
  },
  (b, r, p) => {
    name(b, r, p.other);
    b.t(' from home health visited on ');
    date(b, r, false);
    b.t('. ');
  },
  (b, r, p) => {
    b.t('Friend ').s('NAME', `${p.other.given}'s`).t(' number ').s('PHONE', phone(r)).t('. ');
  },
  (b, r, p) => {
    b.t('MRN ').s('ID', p.mrn).t(', call ').s('PHONE', p.phone).t(' if worse. ');
  },
  (b, r) => {
    b.t('aged ')
      .s('AGE', String(91 + Math.floor(r() * 12)))
      .t(', lives alone; in her ')
      .s('AGE', '90s')
      .t(' per chart. ');
  },
];

/** Identifier sentences of the held-out split: phrasings the detector was not tuned on. */
const HELDOUT: readonly Template[] = [
  (b, r, p) => {
    b.t('Rang her nephew ');
    name(b, r, p.relative);
    b.t(' on ').s('PHONE', phone(r)).t('. ');
  },
  (b, r, p) => {
    b.t('Per conversation w/ ');
    name(b, r, p.clinician);
    b.t(', continue current plan. ');
  },
  (b, r, p) => {
    b.t('The son-in-law, ');
    name(b, r, p.relative, 'given');
    b.t(', drove her in. ');
  },
  (b, r, p) => {
    b.t('Voicemail from ');
    name(b, r, p.other);
    b.t(' re: appointment ');
    date(b, r);
    b.t('. ');
  },
  (b, r, p) => {
    name(b, r, p.other);
    b.t(' (social work) will arrange transport. ');
  },
  (b, r, p) => {
    b.t('Accompanied by granddaughter ');
    name(b, r, p.relative, 'given');
    b.t(', who translates. ');
  },
  (b, r, p) => {
    b.t('Reviewed with attending ');
    name(b, r, p.clinician, 'family');
    b.t(' and resident ');
    name(b, r, p.other, 'family');
    b.t('. ');
  },
  (b, r, p) => {
    b.t('Ms ');
    name(b, r, p.patient, 'family');
    b.t(' reports improvement since ');
    date(b, r, false);
    b.t('. ');
  },
  (b, r, p) => {
    b.t('Her partner ');
    name(b, r, p.relative);
    b.t(' can be reached at ')
      .s('EMAIL', `${p.relative.family.toLowerCase().replace(/'/g, '')}${digits(r, 3)}@mail.example.com`)
      .t('. ');
  },
  (b, r, p) => {
    b.t('Landlord ');
    name(b, r, p.other, 'family');
    b.t(' at ').s('ADDRESS', street(r, 'heldout')).t(' reported the fall. ');
  },
  (b, r, p) => {
    b.t('\n-- ');
    name(b, r, p.clinician);
    b.t('\n');
  },
  (b, r) => {
    b.t('Born ')
      .s('DATE', `${1 + Math.floor(r() * 12)}/${1 + Math.floor(r() * 28)}/${1920 + Math.floor(r() * 80)}`)
      .t(', SS# ')
      .s('SSN', ssn(r))
      .t('. ');
  },
  (b, r) => {
    const [l, v] = id(r);
    b.t(`Insurance card scanned, ${l}`).s('ID', v).t('. ');
  },
  (b, r) => {
    b.t('Centenarian, ')
      .s('AGE', pick(r, ['101', '102', '99', '97']))
      .t(' years of age. ');
  },
  (b, r, p) => {
    b.t('Interpreter ');
    name(b, r, p.other);
    b.t(' present; ');
    name(b, r, p.patient, 'given');
    b.t(' understood. ');
  },
  (b, r) =>
    b
      .t('Remote session from ')
      .s('IP', `192.168.${Math.floor(r() * 255)}.${1 + Math.floor(r() * 254)}`)
      .t(' ended. '),
  (b, r) =>
    b
      .t('See ')
      .s('URL', `https://records.example.org/n/${digits(r, 6)}`)
      .t(' for scans. '),
];

export interface CorpusOptions {
  readonly seed: number;
  readonly notes: number;
  readonly split: Split;
}

/** Generates the labelled notes of one split. */
export function generateCorpus(options: CorpusOptions): LabelledNote[] {
  const r = seededRng(options.seed);
  const templates = options.split === 'dev' ? DEV : HELDOUT;
  const notes: LabelledNote[] = [];
  for (let n = 0; n < options.notes; n += 1) {
    const people: People = {
      patient: personName(r, options.split),
      relative: personName(r, options.split),
      clinician: personName(r, options.split),
      other: personName(r, options.split),
      mrn: digits(r, 7),
      phone: `${2 + Math.floor(r() * 8)}${digits(r, 2)}-${digits(r, 3)}-${digits(r, 4)}`,
      birthDate: `${1925 + Math.floor(r() * 80)}-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}`,
    };
    const b = new NoteBuilder();
    const sentences = 4 + Math.floor(r() * 4);
    for (let s = 0; s < sentences; s += 1) {
      const template = r() < 0.4 ? pick(r, CLINICAL) : pick(r, templates);
      template(b, r, people, options.split);
    }
    notes.push({
      text: b.text,
      spans: b.spans,
      known: [
        ['NAME', people.patient.given],
        ['NAME', people.patient.family],
        ['ID', people.mrn],
        ['PHONE', people.phone],
        ['DATE', people.birthDate],
      ],
    });
  }
  return notes;
}
