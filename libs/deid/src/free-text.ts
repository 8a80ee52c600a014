import { scrub } from '@ehrflow/phi';
import type { KnownIdentifiers } from './known-identifiers.ts';

/**
 * De-identifies free text (notes, narratives, `valueString`) in three passes:
 * 1. the shared scrubber's detectors (SSN, phone, fax, e-mail, URL, IP, MRN- and account-like
 *    numbers, dates, street addresses) — first, so an e-mail or URL that contains a name goes
 *    as one `[EMAIL]` / `[URL]`;
 * 2. the patient's own identifiers from the same record, typed (`[NAME]`, `[ID]`, ...), which
 *    also catches what the scrubber keeps on purpose (UUIDs and hex ids, which may be the
 *    patient's logical id);
 * 3. clinical-text detectors the log scrubber does not need: month and day without a year
 *    ("seen March 3", "3rd of March"), month and year ("June 2019"), a ZIP after a state code
 *    or a ZIP label ("Boston, MA 02139" → "Boston, MA [ADDRESS]"), and ages over 89
 *    ("92-year-old", "aged 93", "95 y/o"), which become `90+`.
 *
 * Known misses: names of other people (no named-entity recognition), numeric month/day without a
 * year ("3/15", indistinguishable from a fraction), and what the scrubber lists as misses.
 */
export function scrubFreeText(text: string, known: KnownIdentifiers): string {
  const patterned = scrub(text);
  return clinicalDetectors(known.size > 0 ? known.replace(patterned) : patterned);
}

const MONTH =
  '(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)';
const MONTH_DAY = new RegExp(`\\b${MONTH}\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?\\b`, 'gi');
const DAY_MONTH = new RegExp(`\\b\\d{1,2}(?:st|nd|rd|th)?\\s+(?:of\\s+)?${MONTH}\\b\\.?`, 'gi');
const MONTH_YEAR = new RegExp(`\\b${MONTH}\\.?,?\\s+(?:of\\s+)?\\d{4}\\b`, 'gi');
const STATE_ZIP = /\b([A-Z]{2}\s+)\d{5}(?:-\d{4})?\b/g;
const LABELLED_ZIP = /\b(zip(?:\s*code)?\s*[:#]?\s*)\d{5}(?:-\d{4})?\b/gi;
const AGE_BEFORE_UNIT = /\b(\d{2,3})(?=[\s-]*(?:years?|yrs?|y\/o|y\.o\.|yo)\b)/gi;
const AGE_AFTER_LABEL = /\b(age[ds]?\s*:?\s*|aged\s+)(\d{2,3})\b/gi;
const OLDEST_SHOWN_AGE = 89;

/** Exported for tests: pass 3 on its own. */
export function clinicalDetectors(text: string): string {
  if (!/\d/.test(text)) return text;
  return text
    .replace(MONTH_YEAR, '[DATE]')
    .replace(MONTH_DAY, '[DATE]')
    .replace(DAY_MONTH, '[DATE]')
    .replace(STATE_ZIP, '$1[ADDRESS]')
    .replace(LABELLED_ZIP, '$1[ADDRESS]')
    .replace(AGE_BEFORE_UNIT, (age: string) => capAge(age))
    .replace(AGE_AFTER_LABEL, (_m, label: string, age: string) => label + capAge(age));
}

function capAge(age: string): string {
  return Number(age) > OLDEST_SHOWN_AGE ? '90+' : age;
}
