import type { PatientIdentity } from './identity.ts';
import type { Rng } from './prng.ts';

/**
 * Free-text notes in the style clinicians actually write: they quote the patient's name and MRN
 * and sometimes more, which is exactly what a free-text scrubber has to catch.
 */
const TEMPLATES: readonly ((p: PatientIdentity, topic: string) => string)[] = [
  (p, topic) =>
    `Pt ${p.given} ${p.family} (MRN ${p.mrn}) seen for ${topic}. Tolerating plan well, no new complaints.`,
  (p, topic) =>
    `${p.family}, ${p.given} - MRN ${p.mrn}. ${topic}: discussed with patient, agrees with plan. RTC 3 months.`,
  (p, topic) =>
    `Called ${p.given} ${p.family} at ${p.phone} about ${topic}; DOB ${p.birthDate} and MRN ${p.mrn} verified.`,
  (p, topic) =>
    `${topic}. Mr/Ms ${p.family} (MRN ${p.mrn}) lives at ${p.line}, ${p.city}; daughter drives to visits.`,
  (p, topic) =>
    `Identity of ${p.given} ${p.family} confirmed with SSN ${p.ssn} and e-mail ${p.email}; MRN ${p.mrn}. Re: ${topic}.`,
];

/**
 * People other than the patient whom every canary note names: a relative (after a role word), a
 * clinician (hyphenated, after a title) and an invented caller (no context, in no dictionary).
 * Names of relatives, clinicians and callers are Safe Harbor identifiers too, and no patient
 * directory knows them: a leak scan for these values proves the redactor's name detection, not
 * its memory of the patient. The values are unusual so that a match cannot be chance.
 */
export const NOTE_PEOPLE_CANARIES = {
  relative: 'Brindlemere',
  clinician: 'Okonkwo-Thistlewood',
  caller: 'Zyvannique',
} as const;

/** The note of a canary patient quotes every planted value, so a leak scan finds each in text. */
function canaryNote(p: PatientIdentity, topic: string): string {
  const people = NOTE_PEOPLE_CANARIES;
  return (
    `${topic}: ${p.given} ${p.family}, MRN ${p.mrn}, SSN ${p.ssn}, DOB ${p.birthDate}, ` +
    `phone ${p.phone}, e-mail ${p.email}, address ${p.line}, ${p.city}, ${p.state} ${p.postalCode}. ` +
    `Spoke with her daughter Hope ${people.relative}; seen by Dr. ${people.clinician}. ` +
    `${people.caller} called about results.`
  );
}

/** A free-text note about `topic` for this patient. */
export function noteText(rng: Rng, patient: PatientIdentity, topic: string): string {
  if (patient.canary) return canaryNote(patient, topic);
  return rng.pick(TEMPLATES)(patient, topic);
}

/** A generated XHTML narrative (FHIR `text`), which also quotes the patient. */
export function narrative(summary: string): { status: 'generated'; div: string } {
  return {
    status: 'generated',
    div: `<div xmlns="http://www.w3.org/1999/xhtml"><p>${escapeXml(summary)}</p></div>`,
  };
}

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}
