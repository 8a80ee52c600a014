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

function dateText(r: Rng, withYear: boolean): string {
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
  return pick(r, forms);
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

type Generator = (r: Rng, p: People, split: Split) => string;

/** What a `{CLASS:generator}` part writes as the span. */
const GENERATORS: Readonly<Record<string, Generator>> = {
  phone: (r) => phone(r),
  ssn: (r) => ssn(r),
  date: (r) => dateText(r, true),
  dayMonth: (r) => dateText(r, false),
  monthSlashDay: (r) => `${1 + Math.floor(r() * 12)}/${1 + Math.floor(r() * 28)}`,
  slashDate: (r) => `${1 + Math.floor(r() * 12)}/${1 + Math.floor(r() * 28)}/${1920 + Math.floor(r() * 80)}`,
  recentIsoDate: (r) =>
    `${2020 + Math.floor(r() * 5)}-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}`,
  birthDate: (_r, p) => p.birthDate,
  over90: (r) => String(91 + Math.floor(r() * 12)),
  street: (r, _p, split) => street(r, split),
  city: (r) => pick(r, CITIES),
  state: (r) => pick(r, STATES),
  zip: (r) => digits(r, 5),
  otherEmail: (r, p) => `${p.other.given.toLowerCase().replace(/'/g, '')}.${digits(r, 2)}@example.org`,
  relativeEmail: (r, p) =>
    `${p.relative.family.toLowerCase().replace(/'/g, '')}${digits(r, 3)}@mail.example.com`,
  portalUrl: (r) =>
    pick(r, ['https://portal.example.org/r/', 'www.example-health.com/p/', 'example.net/chart/']) +
    digits(r, 5),
  recordsUrl: (r) => `https://records.example.org/n/${digits(r, 6)}`,
  ip10: (r) => `10.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}.${1 + Math.floor(r() * 254)}`,
  ip192: (r) => `192.168.${Math.floor(r() * 255)}.${1 + Math.floor(r() * 254)}`,
  wordGiven: (r) => pick(r, WORD_NAMES.given),
  wordFamily: (r) => pick(r, WORD_NAMES.family),
  otherGivenPossessive: (_r, p) => `${p.other.given}'s`,
  patientMrn: (_r, p) => p.mrn,
  patientPhone: (_r, p) => p.phone,
};

/** Parts that write more than one span or text and span together. */
const COMPOUNDS: Readonly<Record<string, Template>> = {
  /** An age over 89 and its unit (`93-year-old`, `ninety-two year old`). */
  age90: (b, r) => {
    const [age, unit] = age90(r);
    b.s('AGE', age).t(unit);
  },
  /** An identifier after its label (`MRN: AB123456`). */
  id: (b, r) => {
    const [label, value] = id(r);
    b.t(label).s('ID', value);
  },
  /** A word-name given name with the other person's family name ("Will Brown"). */
  'other.wordGiven': (b, r, p) => name(b, r, { given: pick(r, WORD_NAMES.given), family: p.other.family }),
};

const PEOPLE = new Set(['patient', 'relative', 'clinician', 'other']);
const NAME_FORMS = new Set(['full', 'given', 'family', 'inverted']);
const SPAN_CLASSES: ReadonlySet<string> = new Set([...IDENTIFIER_CLASSES, 'KEEP']);

/** One `{…}` part of a sentence as a step; throws on a part no rule knows (at module load). */
function compilePart(part: string): Template {
  const compound = COMPOUNDS[part];
  if (compound !== undefined) return compound;
  const [who, form = 'full'] = part.split('.') as [string, string | undefined];
  if (PEOPLE.has(who) && NAME_FORMS.has(form)) {
    return (b, r, p) => name(b, r, p[who as 'patient'], form as 'full');
  }
  const colon = part.indexOf(':');
  if (colon > 0 && SPAN_CLASSES.has(part.slice(0, colon))) {
    const cls = part.slice(0, colon) as SpanClass;
    const what = part.slice(colon + 1);
    const generate = GENERATORS[what];
    if (what.includes('|')) {
      const options = what.split('|');
      return (b, r) => b.s(cls, pick(r, options));
    }
    if (generate !== undefined) return (b, r, p, split) => b.s(cls, generate(r, p, split));
    return (b) => b.s(cls, what);
  }
  if (part.includes('|')) {
    const options = part.split('|');
    return (b, r) => b.t(pick(r, options));
  }
  throw new Error(`corpus template part {${part}} is not a name, span, choice or compound`);
}

/** Sentences as steps: text as written, each `{…}` part by {@link compilePart}, in order. */
function compileTemplates(sentences: readonly string[]): readonly Template[] {
  return sentences.map((sentence) => {
    const steps: Template[] = [];
    let at = 0;
    for (const m of sentence.matchAll(/\{([^}]+)\}/g)) {
      const text = sentence.slice(at, m.index);
      if (text !== '') steps.push((b) => b.t(text));
      steps.push(compilePart(m[1] as string));
      at = m.index + m[0].length;
    }
    const tail = sentence.slice(at);
    if (tail !== '') steps.push((b) => b.t(tail));
    return (b, r, p, split) => {
      for (const step of steps) step(b, r, p, split);
    };
  });
}

// The sentences, as data: text with `{…}` parts, compiled once when this module loads.
// - `{relative}`, `{clinician.family}`: a person's name (`given`, `family` or `inverted`; full by default);
// - `{PHONE:phone}`: a span of that class from one of GENERATORS; `{KEEP:Wells}` a span as
//   written; `{KEEP:Lasix|Keppra}` a span picked from the list;
// - `{is|was}`: text picked from the list; `{age90}`, `{id}`, `{other.wordGiven}`: one of COMPOUNDS.

/** Clinical sentences whose capitalised words must survive (eponyms, drugs, scores, units). */
const CLINICAL = compileTemplates([
  "History of {KEEP:Parkinson} disease and {KEEP:Crohn}'s disease. ",
  'Prior {KEEP:Hodgkin} lymphoma, in remission. ',
  'Early {KEEP:Alzheimer} dementia per family. ',
  'Newborn {KEEP:Apgar} 8 and 9. ',
  '{KEEP:Glasgow} Coma Scale 14 on arrival. ',
  'Started {KEEP:Lisinopril|Metformin|Eliquis|Lasix|Zofran|Keppra|Plavix} {10|20|500|4|40} mg PO daily. ',
  'Continue {KEEP:atorvastatin|Coumadin|Seroquel|Ativan|Tylenol|Norvasc} as before; INR 2.4. ',
  '{KEEP:Wilson} disease ruled out, ceruloplasmin normal. ',
  "{KEEP:Bell}'s palsy resolving. ",
  '{KEEP:Wells} score 2, D-dimer pending. ',
  'Positive {KEEP:Murphy} sign; RUQ ultrasound ordered. ',
  '{KEEP:Graves} disease on methimazole. ',
  'BP 142/88, HR 96, SpO2 94% on 2 L NC. ',
  'Creatinine 1.4 mg/dL, K 3.2 mmol/L. ',
  'Gave {KEEP:Narcan} 0.4 mg IV with good response. ',
  '{KEEP:Foley} catheter removed, voiding well. ',
  'Pt denies chest pain, SOB or nausea. ',
  'Ambulating with walker, fall risk per {KEEP:Morse} scale. ',
  'Echo: EF 35%, moderate MR. ',
  'Plan: repeat CBC and BMP in AM, NPO after midnight. ',
]);

/** Identifier sentences of the development split. */
const DEV = compileTemplates([
  'Spoke with {relative} ({daughter|son|wife|husband}) at {PHONE:phone}. ',
  'Called {other} about results; SSN {SSN:ssn} verified. ',
  'Seen with Dr. {clinician.family} on {DATE:date}. ',
  '{Daughter|Son|Wife|Husband|Niece} {relative.given} at bedside, updated on plan. ',
  'Pt {patient.family} seen today, {age90}. ',
  'Patient: {patient.inverted}\nDOB: {DATE:birthDate}\n',
  'Emergency contact: {relative}, {PHONE:phone}. ',
  '\n{clinician}, {MD|RN|NP|PA-C|DO}\n',
  'Mrs. {relative.family} called from {ADDRESS:street}, {ADDRESS:city}, {ADDRESS:state} {ADDRESS:zip}. ',
  'E-mail from {other.given}: {EMAIL:otherEmail}. ',
  'Portal link {URL:portalUrl} sent. ',
  'Device at {IP:ip10} uploaded readings. ',
  'Verified {id}. ',
  'Last seen {DATE:dayMonth}, follow up on {DATE:monthSlashDay}. ',
  'Will call back tomorrow; {other.wordGiven} agrees. ',
  'Discussed with {NAME:wordGiven} {NAME:wordFamily} and Dr. {clinician.family}. ',
  'Lives with husband {relative.given} at {ADDRESS:street}. ',
  'Message left for {other} at {PHONE:phone} and fax {PHONE:phone}. ',
  'c/o {relative}, zip {ADDRESS:zip}. ',
  'Per {clinician} (cardiology), echo on {DATE:date}. ',
  '({other.family}) Rx faxed to pharmacy, {PHONE:phone}. ',
  'Signed: {clinician} {DATE:recentIsoDate}\n',
  'Mother {is|was} {age90}; neighbour {other} checks in daily. ',
  '{other} from home health visited on {DATE:dayMonth}. ',
  'Friend {NAME:otherGivenPossessive} number {PHONE:phone}. ',
  'MRN {ID:patientMrn}, call {PHONE:patientPhone} if worse. ',
  'aged {AGE:over90}, lives alone; in her {AGE:90s} per chart. ',
]);

/** Identifier sentences of the held-out split: phrasings the detector was not tuned on. */
const HELDOUT = compileTemplates([
  'Rang her nephew {relative} on {PHONE:phone}. ',
  'Per conversation w/ {clinician}, continue current plan. ',
  'The son-in-law, {relative.given}, drove her in. ',
  'Voicemail from {other} re: appointment {DATE:date}. ',
  '{other} (social work) will arrange transport. ',
  'Accompanied by granddaughter {relative.given}, who translates. ',
  'Reviewed with attending {clinician.family} and resident {other.family}. ',
  'Ms {patient.family} reports improvement since {DATE:dayMonth}. ',
  'Her partner {relative} can be reached at {EMAIL:relativeEmail}. ',
  'Landlord {other.family} at {ADDRESS:street} reported the fall. ',
  '\n-- {clinician}\n',
  'Born {DATE:slashDate}, SS# {SSN:ssn}. ',
  'Insurance card scanned, {id}. ',
  'Centenarian, {AGE:101|102|99|97} years of age. ',
  'Interpreter {other} present; {patient.given} understood. ',
  'Remote session from {IP:ip192} ended. ',
  'See {URL:recordsUrl} for scans. ',
]);

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
