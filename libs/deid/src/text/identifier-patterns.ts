/**
 * Safe Harbor identifiers of prose that the shared log scrubber (`@ehrflow/scrubber`) leaves to the
 * clinical pass: it runs after the scrubber and the patient's known identifiers, on their output.
 *
 * | placeholder | catches |
 * |---|---|
 * | `[DATE]` | month and day without a year (`March 14th`, `14 Mar`, `14-Mar`, `3rd of March`), month and year, `3/14` after a date word (`on 3/14`, `since 3/14`) |
 * | `90+` | ages over 89 in digits (`92-year-old`, `aged 93`, `95yo`, `age: 91`) or words (`ninety-two`, `one hundred and one years`), `in her 90s` / `nineties` |
 * | `[PHONE]` | a bare local number `555-0100` |
 * | `[SSN]` | `SS#`, `social security (number)` before nine digits in any grouping |
 * | `[ID]` | a number after an identifier label: MRN, account, member, subscriber, policy, claim, licence/license, certificate, plate, VIN, serial, device, UDI, badge, employee, chart, record (an unlabelled VIN is not looked for) |
 * | `[ADDRESS]` | numbered street addresses with the wide street-type list (any case of the type), `City, ST`, ZIP after a state or label, ZIP+4 |
 * | `[URL]` | a bare domain with a common top-level domain (`portal.example.org/x`) |
 * | `[IP]` | IPv6 |
 *
 * @see https://www.hhs.gov/hipaa/for-professionals/privacy/special-topics/de-identification/index.html
 */

const MONTH =
  '(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)';
const MONTH_DAY = new RegExp(`\\b${MONTH}\\.?\\s+\\d{1,2}(?:st|nd|rd|th)?\\b`, 'gi');
const DAY_MONTH = new RegExp(`\\b\\d{1,2}(?:st|nd|rd|th)?(?:\\s+of\\s+|[\\s-]+)${MONTH}\\b\\.?`, 'gi');
const MONTH_YEAR = new RegExp(`\\b${MONTH}\\.?,?[\\s-]+(?:of\\s+)?\\d{4}\\b`, 'gi');
const DATE_WORD =
  '(?:on|since|from|until|till|to|through|thru|dated?|seen|admitted|discharged|visit|returned|started|stopped|last|next|due|scheduled|before|after|by|DOS|DOB|born|of)';
const SHORT_DATE = new RegExp(
  `(\\b${DATE_WORD}\\s*:?\\s+)(?:0?[1-9]|1[0-2])[/-](?:0?[1-9]|[12]\\d|3[01])(?![\\w/-]|\\.\\d)`,
  'gi',
);

/**
 * Street types (USPS C1 suffixes and common UK/Commonwealth ones). Ambiguous words that are also
 * ordinary clinical words (Park, Point, Walk, Green, View) are left out: a capitalised word
 * before them is not evidence enough.
 *
 * @see https://pe.usps.com/text/pub28/28apc_002.htm
 */
export const STREET_TYPES: readonly string[] = (
  'Street St Avenue Ave Av Road Rd Boulevard Blvd Lane Ln Drive Dr Court Ct Way Place Pl Terrace ' +
  'Ter Terr Row Circle Cir Crescent Cres Close Parkway Pkwy Highway Hwy Freeway Fwy Expressway ' +
  'Expy Turnpike Tpke Pike Route Rte Square Sq Trail Trl Alley Aly Mews Grove Gardens Gdns ' +
  'Heights Hts Plaza Plz Crossing Xing Causeway Cswy Esplanade Quay Wharf Ridge Loop'
).split(' ');
const UNIT = `(?:,?\\s*(?:Apt|Apartment|Suite|Ste|Unit|Flat|#)\\.?\\s*[\\w-]+)?`;
/** `<number> [direction] <one to four capitalised words or ordinals> <street type>[.] [direction] [unit]`. */
const STREET_ADDRESS = new RegExp(
  `(?<![\\w-])\\d{1,6}[A-Za-z]?(?:\\s+(?:[NSEW]\\.?|North|South|East|West))?` +
    `(?:\\s+(?:[A-Z][A-Za-z'.-]*|\\d+(?:st|nd|rd|th))){1,4}?\\s+(?i:${STREET_TYPES.join('|')})\\b\\.?` +
    `(?:\\s+(?:NE|NW|SE|SW|N|S|E|W)\\b)?${UNIT}`,
  'g',
);
/** The same in lower case, with the long street types only ("12 elm street"). */
const LOWER_STREET_ADDRESS = new RegExp(
  `(?<![\\w-])\\d{1,6}(?:\\s+(?!(?:the|a|an|of|and|to|times|more|blocks?|miles?|minutes?|days?)\\b)[a-z][a-z'-]*){1,3}\\s+` +
    `(?:street|avenue|road|boulevard|lane|drive|court|terrace|crescent|parkway|highway)\\b${UNIT}`,
  'gi',
);
const STATES =
  'AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR';
/** "Springfield, MA" / "Fort Wayne, IN 46802": the city before a state code. */
/** Without a ZIP, MD and PA are more often credentials ("Hope Smith, MD") than states. */
const CITY_STATE = new RegExp(
  `\\b(?:[A-Z][a-z]+\\s+){0,2}[A-Z][a-z]+,\\s+(?:(?:${STATES})\\s+\\d{5}(?:-\\d{4})?|(?!MD\\b|PA\\b)(?:${STATES})\\b)`,
  'g',
);
/** Full dates the log scrubber misses at the end of a sentence ("on 11/28/73."). */
const NUMERIC_DATE =
  /(?<![\w/.-])(?:\d{1,2}[/-]\d{1,2}[/-](?:\d{4}|\d{2})|\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{2}-\d{2})(?![\w/-]|\.\d)/g;
const STATE_ZIP = new RegExp(`\\b((?:${STATES})\\s+)\\d{5}(?:-\\d{4})?\\b`, 'g');
const LABELLED_ZIP = /\b(zip(?:\s*code)?\s*[:#]?\s*)\d{5}(?:-\d{4})?\b/gi;
const ZIP_PLUS4 = /(?<![\w-])\d{5}-\d{4}(?![\w-])/g;

const AGE_BEFORE_UNIT = /\b(\d{2,3})(?=[\s-]*(?:years?|yrs?|y\/o|y\.o\.|yo|year-old)\b)/gi;
const AGE_AFTER_LABEL = /\b(age[ds]?\s*:?\s*|aged\s+)(\d{2,3})\b(?!\+)/gi;
const AGE_DECADE =
  /(?<=\bin\s+(?:his|her|their|the)\s+(?:late\s+|early\s+|mid-?\s*)?)(?:90s|90's|nineties)\b/gi;
const UNITS = '(?:one|two|three|four|five|six|seven|eight|nine)';
const AGE_WORDS = new RegExp(
  `\\b(?:ninety(?:[\\s-]+${UNITS})?|one\\s+hundred(?:\\s+and)?(?:[\\s-]+(?:${UNITS}|ten|eleven|twelve))?)(?=[\\s-]+(?:years?|yrs?|y\\/o|yo|year-old)\\b)`,
  'gi',
);
const AGE_WORDS_AFTER_LABEL = new RegExp(
  `\\b(age[ds]?\\s*:?\\s*|aged\\s+)(?:ninety(?:[\\s-]+${UNITS})?|one\\s+hundred(?:\\s+and)?(?:[\\s-]+${UNITS})?)\\b`,
  'gi',
);
const OLDEST_SHOWN_AGE = 89;

const LOCAL_PHONE = /(?<![\w-])\d{3}-\d{4}(?![\w-])/g;
const SSN_LABELLED =
  /\b((?:SSN|SS#|SS\s*No\.?|social\s+security(?:\s+(?:number|no\.?|#))?)\s*[:#]?\s*)\d{3}[\s.-]?\d{2}[\s.-]?\d{4}\b/gi;
const ID_LABEL =
  "(?:MRN|MR#|medical\\s+record(?:\\s+(?:number|no\\.?|#))?|chart(?:\\s+(?:number|no\\.?|#))?|record\\s+(?:number|no\\.?|#)|acct|account|member(?:\\s+id)?|subscriber(?:\\s+id)?|policy|claim|group|insurance\\s+id|licen[cs]e(?:\\s+plate)?|driver'?s\\s+licen[cs]e|DL|certificate|cert|plate|tag|VIN|vehicle(?:\\s+id)?|serial|S\\/N|SN|device(?:\\s+id)?|UDI|lot|badge|employee(?:\\s+id)?|NPI|DEA|MBI|HICN|ID|passport)";
const LONG_STREET_TYPE =
  /(?:street|avenue|road|boulevard|lane|drive|court|terrace|crescent|parkway|highway)\b/i;
const LABELLED_ID = new RegExp(
  `\\b(${ID_LABEL})(\\s*(?:number|num|no\\.?|#|id)?\\s*[:#=]?\\s*)(?=[A-Za-z0-9-]*\\d)[A-Za-z0-9][A-Za-z0-9-]*`,
  'gi',
);
const BARE_URL =
  /(?<![\w@.-])(?:[a-z0-9-]+\.)+(?:com|org|net|edu|gov|io|us|info|health|biz|co\.uk|uk)(?:\/[^\s"'<>()]*[^\s"'<>().,;:!?])?(?![\w@-])/gi;
const IPV6 = /(?<![\w:])(?:[0-9a-f]{1,4}:){3,7}[0-9a-f]{1,4}(?![\w:])/gi;

/** Runs the clinical-text patterns over text the scrubber and the known identifiers have seen. */
export function clinicalDetectors(text: string): string {
  let out = text;
  // Cheap pre-checks first: most notes have no URL, IPv6, spelled-out age or city-state pair.
  if (/\.(?:com|org|net|edu|gov|io|us|info|health|biz|uk)\b/i.test(out)) out = out.replace(BARE_URL, '[URL]');
  if (/[0-9a-f]:[0-9a-f]/i.test(out)) out = out.replace(IPV6, '[IP]');
  if (/ninet|hundred/i.test(out)) out = out.replace(AGE_WORDS_AFTER_LABEL, '$190+').replace(AGE_WORDS, '90+');
  if (/ninet|90/i.test(out)) out = out.replace(AGE_DECADE, '90+');
  if (/,\s+[A-Z]{2}\b/.test(out)) out = out.replace(CITY_STATE, '[ADDRESS]');
  if (!/\d/.test(out)) return out;
  // Each pattern behind a cheap test of what it cannot match without (most notes have none).
  if (/ss|social/i.test(out)) out = out.replace(SSN_LABELLED, '$1[SSN]');
  out = out.replace(LABELLED_ID, labelledId);
  if (/\d[/.-]\d/.test(out)) out = out.replace(NUMERIC_DATE, '[DATE]').replace(SHORT_DATE, '$1[DATE]');
  out = out
    .replace(MONTH_YEAR, '[DATE]')
    .replace(MONTH_DAY, '[DATE]')
    .replace(DAY_MONTH, '[DATE]')
    .replace(STREET_ADDRESS, '[ADDRESS]');
  if (LONG_STREET_TYPE.test(out)) out = out.replace(LOWER_STREET_ADDRESS, '[ADDRESS]');
  out = out.replace(STATE_ZIP, '$1[ADDRESS]').replace(LABELLED_ZIP, '$1[ADDRESS]');
  if (/\d-\d{4}/.test(out)) out = out.replace(ZIP_PLUS4, '[ADDRESS]').replace(LOCAL_PHONE, '[PHONE]');
  return out
    .replace(AGE_BEFORE_UNIT, (age: string) => capAge(age))
    .replace(AGE_AFTER_LABEL, (_m, label: string, age: string) => label + capAge(age));
}

/** A label without a number after it ("ID card", "plate glass") keeps its words. */
function labelledId(m: string, label: string, sep: string): string {
  return /^(?:id|tag|group|lot|plate|DL|SN|policy|claim|cert)$/i.test(label) &&
    !/\d/.test(m.slice(label.length + sep.length))
    ? m
    : `${label}${sep}[ID]`;
}

function capAge(age: string): string {
  return Number(age) > OLDEST_SHOWN_AGE ? '90+' : age;
}
