import { scrub } from '@ehrflow/phi';
import type { KnownIdentifiers } from './known-identifiers.ts';

/**
 * What a free-text value becomes when it cannot be de-identified safely: its patient's
 * identifiers are not available, so a bare name in it could not be found (see the scrub method).
 */
export const WITHHELD_PLACEHOLDER = '[WITHHELD]';

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
 *    or a ZIP label ("Boston, MA 02139" → "Boston, MA [ADDRESS]"), street addresses with the
 *    wider set of street types of {@link STREET_TYPES} ("12 Quarantine Row", "4 Elm Close"),
 *    and ages over 89 ("92-year-old", "aged 93", "95 y/o"), which become `90+`.
 *
 * Call it only with the patient's identifiers at hand (`known` from the record and the patient
 * directory): the pattern passes alone do not find a bare name, which is why the scrub method
 * withholds free text whose patient is unknown.
 *
 * Known misses: names of other people (no named-entity recognition), numeric month/day without a
 * year ("3/15", indistinguishable from a fraction), street addresses without a number or in
 * lower case, and what the scrubber lists as misses.
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
/**
 * Street types (USPS C1 suffixes and common UK/Commonwealth ones), beyond the log scrubber's
 * list. Ambiguous words that are also ordinary clinical words (Park, Point, Walk, Green, View)
 * are left out: a capitalised word before them is not evidence enough.
 *
 * @see https://pe.usps.com/text/pub28/28apc_002.htm
 */
export const STREET_TYPES: readonly string[] = (
  'Street St Avenue Ave Av Road Rd Boulevard Blvd Lane Ln Drive Dr Court Ct Way Place Pl Terrace ' +
  'Ter Terr Row Circle Cir Crescent Cres Close Parkway Pkwy Highway Hwy Freeway Fwy Expressway ' +
  'Expy Turnpike Tpke Pike Route Rte Square Sq Trail Trl Alley Aly Mews Grove Gardens Gdns ' +
  'Heights Hts Plaza Plz Crossing Xing Causeway Cswy Esplanade Quay Wharf Ridge Loop'
).split(' ');
/**
 * `<number> [direction] <one to four capitalised words or ordinals> <street type>[.] [direction]
 * [unit]`; the street type in any case ("12 Quarantine row").
 */
const STREET_ADDRESS = new RegExp(
  `(?<![\\w-])\\d{1,6}[A-Za-z]?(?:\\s+(?:[NSEW]\\.?|North|South|East|West))?` +
    `(?:\\s+(?:[A-Z][A-Za-z'.-]*|\\d+(?:st|nd|rd|th))){1,4}?\\s+(?i:${STREET_TYPES.join('|')})\\b\\.?` +
    `(?:\\s+(?:NE|NW|SE|SW|N|S|E|W)\\b)?(?:,?\\s*(?:Apt|Apartment|Suite|Ste|Unit|Flat|#)\\.?\\s*[\\w-]+)?`,
  'g',
);
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
    .replace(STREET_ADDRESS, '[ADDRESS]')
    .replace(STATE_ZIP, '$1[ADDRESS]')
    .replace(LABELLED_ZIP, '$1[ADDRESS]')
    .replace(AGE_BEFORE_UNIT, (age: string) => capAge(age))
    .replace(AGE_AFTER_LABEL, (_m, label: string, age: string) => label + capAge(age));
}

function capAge(age: string): string {
  return Number(age) > OLDEST_SHOWN_AGE ? '90+' : age;
}
