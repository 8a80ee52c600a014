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

/** The note of a canary patient quotes every planted value, so a leak scan finds each in text. */
function canaryNote(p: PatientIdentity, topic: string): string {
  return (
    `${topic}: ${p.given} ${p.family}, MRN ${p.mrn}, SSN ${p.ssn}, DOB ${p.birthDate}, ` +
    `phone ${p.phone}, e-mail ${p.email}, address ${p.line}, ${p.city}, ${p.state} ${p.postalCode}.`
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
