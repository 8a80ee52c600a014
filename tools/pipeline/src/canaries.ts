import { NOTE_PEOPLE_CANARIES, type Canary } from '@ehrflow/ehr-sim';

/**
 * Canary identities planted by the demo and the fault suite: one patient early at the first site (its Patient record
 * passes validation, so redaction must remove the values) and the last patient of the last site
 * (after the drift point with faults on, so its Patient record is quarantined: a record that
 * fails validation). Every note of their resources quotes every value (free text).
 *
 * Values are long and unusual so that a match cannot be chance. ZIP code and state are planted
 * as ordinary synthetic values and not searched: two to five digits match by chance.
 */
export function demoCanaries(sites: readonly string[], patientsPerSite: number): Canary[] {
  const first = sites[0] as string;
  const last = sites[sites.length - 1] as string;
  return [
    {
      site: first,
      patientIndex: Math.min(3, patientsPerSite - 1),
      given: 'Quillonbeck',
      family: 'Zyraxtonfeld',
      birthDate: '1931-04-17',
      mrn: 'E8675309',
      ssn: '900-47-1234',
      phone: '(207) 868-4410',
      email: 'quillonbeck.canary@example.org',
      line: '77 Canarywick Lane',
      city: 'Canaryburg',
    },
    {
      site: last,
      patientIndex: patientsPerSite - 1,
      given: 'Vexmorrow',
      family: 'Pellucidane',
      birthDate: '1944-09-23',
      mrn: 'E5551212',
      ssn: '900-83-5521',
      phone: '(207) 868-7731',
      email: 'vexmorrow.canary@example.org',
      line: '12 Quarantine Row',
      city: 'Driftonshire',
    },
  ];
}

const SEARCHED = ['given', 'family', 'birthDate', 'mrn', 'ssn', 'phone', 'email', 'line', 'city'] as const;

/** Who the non-patient names of the canary notes are (searched after the patients' values). */
const NOTE_PEOPLE = [
  'relative',
  'clinician',
  'caller',
] as const satisfies readonly (keyof typeof NOTE_PEOPLE_CANARIES)[];

/**
 * The values the leak scan searches for, in a stable order (hits name them by index): every
 * planted patient value, then the names of people other than the patient that every canary note
 * quotes (a relative, a clinician, an invented caller), which only name detection can remove.
 */
export function canaryValues(canaries: readonly Canary[]): string[] {
  const out: string[] = [];
  for (const canary of canaries) {
    for (const field of SEARCHED) {
      const value = canary[field];
      if (value !== undefined) out.push(value);
    }
  }
  if (canaries.length > 0) for (const who of NOTE_PEOPLE) out.push(NOTE_PEOPLE_CANARIES[who]);
  return out;
}

/** PHI-free names of the searched values, by index (`canary 0 ssn`), for reports. */
export function canaryLabels(canaries: readonly Canary[]): string[] {
  const out: string[] = [];
  canaries.forEach((canary, i) => {
    for (const field of SEARCHED) if (canary[field] !== undefined) out.push(`patient ${i} ${field}`);
  });
  if (canaries.length > 0) for (const who of NOTE_PEOPLE) out.push(`note ${who} name`);
  return out;
}
