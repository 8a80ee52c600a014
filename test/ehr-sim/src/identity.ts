import { SALT, type SiteLayout } from './dataset.ts';
import { FAMILY, GIVEN_FEMALE, GIVEN_MALE, STREETS, TOWNS } from './synthetic-values.ts';

/** The demographic values of one synthetic patient; notes in other resources quote them. */
export interface PatientIdentity {
  readonly given: string;
  readonly middle: string;
  readonly family: string;
  readonly gender: 'female' | 'male' | 'other' | 'unknown';
  readonly birthDate: string;
  readonly mrn: string;
  readonly ssn: string;
  readonly phone: string;
  readonly email: string;
  readonly line: string;
  readonly city: string;
  readonly state: string;
  readonly postalCode: string;
  /** True when canary values were injected: notes then quote every value. */
  readonly canary: boolean;
}

/** Values to plant in a patient so a leak scan can search for them. Unset fields stay synthetic. */
export interface CanaryValues {
  readonly given?: string;
  readonly family?: string;
  readonly birthDate?: string;
  readonly mrn?: string;
  readonly ssn?: string;
  readonly phone?: string;
  readonly email?: string;
  readonly line?: string;
  readonly city?: string;
  readonly state?: string;
  readonly postalCode?: string;
}

/** A canary: which patient of which site carries the values. */
export interface Canary extends CanaryValues {
  readonly site: string;
  readonly patientIndex: number;
}

export const CANARY_FIELDS = [
  'given',
  'family',
  'birthDate',
  'mrn',
  'ssn',
  'phone',
  'email',
  'line',
  'city',
  'state',
  'postalCode',
] as const satisfies readonly (keyof CanaryValues)[];

const MRN_SPACE = 10_000_000;
const AREA_CODES = ['201', '312', '415', '617', '713', '919'] as const;
const DAY_MS = 86_400_000;
const BIRTH_FROM_MS = Date.UTC(1930, 0, 1);
const BIRTH_SPAN_DAYS = 90 * 365;

/**
 * Demographics of patient `index`, derived from its own random stream. MRNs are unique per site
 * (an affine bijection of the index), every other identifier is visibly fake.
 */
export function patientIdentity(layout: SiteLayout, index: number, canary?: CanaryValues): PatientIdentity {
  const rng = layout.rng('Patient', index, SALT.identity);
  const roll = rng.next();
  const gender = roll < 0.48 ? 'female' : roll < 0.96 ? 'male' : roll < 0.98 ? 'other' : 'unknown';
  const givenPool =
    gender === 'female' ? GIVEN_FEMALE : gender === 'male' ? GIVEN_MALE : [...GIVEN_FEMALE, ...GIVEN_MALE];
  const given = rng.pick(givenPool);
  const middle = rng.pick(givenPool);
  const family = rng.pick(FAMILY);
  const birthDate = new Date(BIRTH_FROM_MS + rng.int(BIRTH_SPAN_DAYS) * DAY_MS).toISOString().slice(0, 10);
  const mrnNumber = (index * 48271 + (layout.salt % MRN_SPACE)) % MRN_SPACE;
  const area = rng.chance(0.2) ? '000' : `9${rng.digits(2)}`;
  const town = rng.pick(TOWNS);
  const unit = rng.chance(0.3) ? ` Apt ${rng.between(1, 40)}` : '';
  const base: PatientIdentity = {
    given,
    middle,
    family,
    gender,
    birthDate,
    mrn: `E${String(mrnNumber).padStart(7, '0')}`,
    ssn: `${area}-${String(rng.between(1, 99)).padStart(2, '0')}-${String(rng.between(1, 9999)).padStart(4, '0')}`,
    phone: `(${rng.pick(AREA_CODES)}) 555-01${rng.digits(2)}`,
    email: `${given}.${family}${rng.between(1, 99)}@example.org`.toLowerCase(),
    line: `${rng.between(1, 9999)} ${rng.pick(STREETS)}${unit}`,
    city: town.city,
    state: town.state,
    postalCode: `000${rng.digits(2)}`,
    canary: false,
  };
  if (canary === undefined) return base;
  const planted = Object.fromEntries(
    CANARY_FIELDS.flatMap((field) => (canary[field] === undefined ? [] : [[field, canary[field]]])),
  );
  return { ...base, ...planted, canary: true };
}
