/**
 * Word lists for fake data. Names look ordinary so parsers and scrubbers meet realistic text;
 * every identifier built from them is visibly fake (SSN area 9xx/000, phone 555-01xx, ZIP 000xx,
 * e-mail at example.org, towns that do not exist).
 */

export interface Coded {
  readonly system: string;
  readonly code: string;
  readonly display: string;
}

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

export const GIVEN_FEMALE = [
  'Amelia',
  'Beatrice',
  'Clara',
  'Dolores',
  'Eleanor',
  'Fiona',
  'Greta',
  'Harriet',
  'Imogen',
  'Josephine',
  'Katrin',
  'Lorna',
  'Maren',
  'Noelle',
  'Ottilie',
  'Priya',
  'Rosalind',
  'Sabine',
  'Theodora',
  'Ursula',
] as const;

export const GIVEN_MALE = [
  'Abel',
  'Bartholomew',
  'Cedric',
  'Desmond',
  'Emil',
  'Fabian',
  'Gideon',
  'Horatio',
  'Ignatius',
  'Jasper',
  'Kasimir',
  'Lucian',
  'Mortimer',
  'Nikolai',
  'Orson',
  'Percival',
  'Quentin',
  'Rufus',
  'Silas',
  'Thaddeus',
] as const;

export const FAMILY = [
  'Abernathy',
  'Blackwood',
  'Castellano',
  'Drummond',
  'Eastwick',
  'Fairweather',
  'Galloway',
  'Hargreaves',
  'Ingleby',
  'Jorgensen',
  'Kowalczyk',
  'Lindqvist',
  'Marchetti',
  'Nakashima',
  'Okonkwo',
  'Pemberton',
  'Quigley',
  'Rasmussen',
  'Szymanski',
  'Thistlewood',
  'Underhill',
  'Vandermeer',
  'Whitcombe',
  'Yardley',
] as const;

export const STREETS = [
  'Synthetic Way',
  'Placeholder Ave',
  'Mockingbird Test Ln',
  'Sample St',
  'Fictional Blvd',
  'Dummy Rd',
  'Imaginary Ct',
  'Notreal Pl',
  'Fakewood Dr',
  'Pretend Pkwy',
] as const;

export const TOWNS = [
  { city: 'Testville', state: 'OH' },
  { city: 'Sampleton', state: 'PA' },
  { city: 'Mockford', state: 'MN' },
  { city: 'Fakesburg', state: 'VA' },
  { city: 'Nullhaven', state: 'OR' },
  { city: 'Stubbington', state: 'MA' },
] as const;

export const CLINICIANS = [
  'Dr. Ada Testwell',
  'Dr. Ben Mockley',
  'Dr. Cora Stubbs',
  'NP Dale Fakename',
] as const;

export interface QuantitySpec {
  readonly code: Coded;
  readonly category: 'vital-signs' | 'laboratory';
  readonly unit: string;
  readonly min: number;
  readonly max: number;
  readonly low: number;
  readonly high: number;
  readonly decimals: number;
}

/** Observations that carry a quantity. */
export const QUANTITY_OBSERVATIONS: readonly QuantitySpec[] = [
  {
    code: { system: LOINC, code: '8867-4', display: 'Heart rate' },
    category: 'vital-signs',
    unit: '/min',
    min: 52,
    max: 118,
    low: 60,
    high: 100,
    decimals: 0,
  },
  {
    code: { system: LOINC, code: '8480-6', display: 'Systolic blood pressure' },
    category: 'vital-signs',
    unit: 'mm[Hg]',
    min: 95,
    max: 175,
    low: 90,
    high: 130,
    decimals: 0,
  },
  {
    code: { system: LOINC, code: '29463-7', display: 'Body weight' },
    category: 'vital-signs',
    unit: 'kg',
    min: 45,
    max: 130,
    low: 40,
    high: 150,
    decimals: 1,
  },
  {
    code: { system: LOINC, code: '2339-0', display: 'Glucose [Mass/volume] in Blood' },
    category: 'laboratory',
    unit: 'mg/dL',
    min: 65,
    max: 240,
    low: 70,
    high: 99,
    decimals: 0,
  },
  {
    code: { system: LOINC, code: '718-7', display: 'Hemoglobin [Mass/volume] in Blood' },
    category: 'laboratory',
    unit: 'g/dL',
    min: 9,
    max: 17,
    low: 12,
    high: 16,
    decimals: 1,
  },
];

/** Observations that carry a coded answer. */
export const CODED_OBSERVATIONS: readonly { readonly code: Coded; readonly answers: readonly Coded[] }[] = [
  {
    code: { system: LOINC, code: '72166-2', display: 'Tobacco smoking status' },
    answers: [
      { system: SNOMED, code: '266919005', display: 'Never smoked tobacco' },
      { system: SNOMED, code: '8517006', display: 'Ex-smoker' },
      { system: SNOMED, code: '77176002', display: 'Smoker' },
    ],
  },
  {
    code: { system: LOINC, code: '883-9', display: 'ABO group [Type] in Blood' },
    answers: [
      { system: SNOMED, code: '112144000', display: 'Blood group A' },
      { system: SNOMED, code: '112149005', display: 'Blood group B' },
      { system: SNOMED, code: '58460004', display: 'Blood group O' },
    ],
  },
];

/** Observations that carry free text. */
export const TEXT_OBSERVATIONS: readonly { readonly code: Coded; readonly texts: readonly string[] }[] = [
  {
    code: { system: LOINC, code: '11348-0', display: 'History of Past illness' },
    texts: ['No prior hospitalisations', 'Childhood asthma, resolved', 'Appendectomy in adolescence'],
  },
  {
    code: { system: LOINC, code: '8691-8', display: 'History of Travel' },
    texts: ['No recent travel', 'Returned from a conference last month', 'Travels weekly for work'],
  },
];

export const CONDITIONS: readonly Coded[] = [
  { system: SNOMED, code: '44054006', display: 'Diabetes mellitus type 2' },
  { system: SNOMED, code: '38341003', display: 'Hypertensive disorder' },
  { system: SNOMED, code: '195967001', display: 'Asthma' },
  { system: SNOMED, code: '55822004', display: 'Hyperlipidemia' },
  { system: SNOMED, code: '35489007', display: 'Depressive disorder' },
  { system: SNOMED, code: '396275006', display: 'Osteoarthritis' },
];

export const MEDICATIONS: readonly { readonly code: Coded; readonly dose: string }[] = [
  {
    code: { system: RXNORM, code: '860975', display: 'metformin hydrochloride 500 MG Oral Tablet' },
    dose: 'Take 1 tablet by mouth twice daily with meals',
  },
  {
    code: { system: RXNORM, code: '197361', display: 'amlodipine 5 MG Oral Tablet' },
    dose: 'Take 1 tablet by mouth once daily',
  },
  {
    code: { system: RXNORM, code: '617314', display: 'atorvastatin 10 MG Oral Tablet' },
    dose: 'Take 1 tablet by mouth at bedtime',
  },
  {
    code: { system: RXNORM, code: '745679', display: 'albuterol 0.09 MG/ACTUAT Metered Dose Inhaler' },
    dose: 'Inhale 2 puffs every 4 to 6 hours as needed',
  },
];

export const ALLERGENS: readonly {
  readonly code: Coded;
  readonly category: string;
  readonly reaction: string;
}[] = [
  {
    code: { system: SNOMED, code: '91936005', display: 'Allergy to penicillin' },
    category: 'medication',
    reaction: 'Hives',
  },
  {
    code: { system: SNOMED, code: '91935009', display: 'Allergy to peanuts' },
    category: 'food',
    reaction: 'Anaphylaxis',
  },
  {
    code: { system: SNOMED, code: '300916003', display: 'Latex allergy' },
    category: 'environment',
    reaction: 'Contact dermatitis',
  },
  {
    code: { system: SNOMED, code: '418689008', display: 'Allergy to grass pollen' },
    category: 'environment',
    reaction: 'Rhinitis',
  },
];

export const PROCEDURES: readonly Coded[] = [
  { system: SNOMED, code: '73761001', display: 'Colonoscopy' },
  { system: SNOMED, code: '80146002', display: 'Appendectomy' },
  { system: SNOMED, code: '71651007', display: 'Mammography' },
  { system: SNOMED, code: '430193006', display: 'Medication reconciliation' },
  { system: SNOMED, code: '76601001', display: 'Intramuscular injection' },
];

export const ENCOUNTER_CLASSES: readonly Coded[] = [
  { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB', display: 'ambulatory' },
  { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP', display: 'inpatient encounter' },
  { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EMER', display: 'emergency' },
  { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'VR', display: 'virtual' },
];

export const ENCOUNTER_REASONS: readonly Coded[] = [
  { system: SNOMED, code: '185349003', display: 'Encounter for check up' },
  { system: SNOMED, code: '410620009', display: 'Well child visit' },
  { system: SNOMED, code: '183452005', display: 'Emergency hospital admission' },
  { system: SNOMED, code: '390906007', display: 'Follow-up encounter' },
];
