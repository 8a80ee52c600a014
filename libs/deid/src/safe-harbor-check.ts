import type { Contract, FieldContract } from '@ehrflow/contracts';

/**
 * An independent HIPAA Safe Harbor check of one clean record against the record it came from.
 *
 * Independent on purpose: it shares no code with the redactor's processors, policy compiler,
 * identifier matcher or ZIP list (this module imports only the contract types), so a bug in the
 * redactor is not mirrored here. It inspects outputs only:
 * - `source_phi_in_clean`: a value of a PHI-classified source field (direct or quasi; free text
 *   is checked by the patterns below instead, since its harmless words may survive) appears in
 *   any field of the clean record, as a whole word, case-insensitively; name fields are also
 *   checked word by word, references also by their id;
 * - `date_finer_than_year`: an identifying clean field (its source field is not `phi: none`)
 *   holds a month, a day or a full date;
 * - `zip_longer_than_three` / `restricted_zip`: a postal-code field holds more than three digits,
 *   or a restricted three-digit prefix other than `000`; free text holds a ZIP after a state code
 *   or a ZIP label;
 * - `age_over_89`: an age field above 89, a birth year allowing an age above 89, or free text
 *   stating one;
 * - `unclassified_field`: the clean record has a field the source contract does not classify
 *   (default-deny) or does not know;
 * - `person_name_in_text`: a person's name the caller knows to be in the source text (`names`:
 *   the labelled names of an evaluation note, a relative's or clinician's canary) survives in a
 *   free-text or unclassified clean field, as a whole word, case-insensitively.
 *
 * @see https://www.hhs.gov/hipaa/for-professionals/privacy/special-topics/de-identification/index.html
 */

export type SafeHarborRule =
  | 'source_phi_in_clean'
  | 'date_finer_than_year'
  | 'zip_longer_than_three'
  | 'restricted_zip'
  | 'age_over_89'
  | 'unclassified_field'
  | 'person_name_in_text';

/** A finding: which rule, which clean field; never the value. */
export interface SafeHarborViolation {
  readonly rule: SafeHarborRule;
  /** The clean field where the problem shows. */
  readonly field: string;
  /** For `source_phi_in_clean`: the source field whose value leaked. */
  readonly sourceField?: string;
}

export interface SafeHarborInput {
  /** Contract of the source (valid) record. */
  readonly contract: Contract;
  /** The source record, PHI fields decrypted. */
  readonly source: Readonly<Record<string, unknown>>;
  /** The clean record. */
  readonly clean: Readonly<Record<string, unknown>>;
  /** Reference time for ages; now by default. */
  readonly now?: Date;
  /**
   * Names of people (anyone, not only the patient) known to appear in the source's free text,
   * e.g. the annotated names of a labelled note; none may survive in clean free text.
   */
  readonly names?: Iterable<string>;
}

/** Fields the redactor stamps on every clean record. */
const STAMPS = new Set(['deidPolicy', 'deidPolicyVersion']);
/** This checker's own copy of the restricted prefixes (HHS list), not the redactor's. */
const SPARSE_ZIP3 = '036 059 063 102 203 556 692 790 821 823 830 831 878 879 884 890 893'.split(' ');
const MONTHS =
  'January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec';
const FINE_DATES: readonly RegExp[] = [
  /(?<![\p{L}\p{N}])\d{4}[-/.](0?[1-9]|1[0-2])(?![\p{N}])/u,
  /(?<![\p{L}\p{N}])\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?![\p{N}])/u,
  new RegExp(`(?<![\\p{L}])(${MONTHS})\\.?\\s+\\d{1,2}(?![\\p{N}])`, 'iu'),
  new RegExp(`(?<![\\p{L}\\p{N}])\\d{1,2}(st|nd|rd|th)?\\s+(of\\s+)?(${MONTHS})(?![\\p{L}])`, 'iu'),
  new RegExp(`(?<![\\p{L}])(${MONTHS})\\.?,?\\s+\\d{4}(?![\\p{N}])`, 'iu'),
];
const TEXT_ZIPS: readonly RegExp[] = [/\b[A-Z]{2}\s+\d{5}(-\d{4})?\b/, /\bzip(\s*code)?\s*[:#]?\s*\d{5}/i];
const TEXT_AGES: readonly RegExp[] = [
  /(?<![\p{N}])(\d{2,3})[\s-]*(years?|yrs?|y\/o|yo)(?![\p{L}])/giu,
  /\bage[ds]?\s*:?\s*(\d{2,3})(?![\p{N}])/giu,
];
/** A pseudonym (32 base64url characters) is opaque: not read as a date, ZIP or age. */
const PSEUDONYM = /^[A-Za-z0-9_-]{32}$/;
const MIN_NEEDLE = 4;
const MIN_NAME_NEEDLE = 2;

/** Checks one clean record; an empty list means it passes. */
export function checkSafeHarbor(input: SafeHarborInput): SafeHarborViolation[] {
  const now = input.now ?? new Date();
  const byName = new Map(input.contract.fields.filter((f) => !/[.[{]/.test(f.path)).map((f) => [f.name, f]));
  const out: SafeHarborViolation[] = [];

  for (const name of Object.keys(input.clean)) {
    if (STAMPS.has(name)) continue;
    const field = byName.get(name);
    if (field === undefined || field.phiClass === 'unclassified')
      out.push({ rule: 'unclassified_field', field: name });
  }

  const haystack = Object.entries(input.clean).map(([name, value]) => ({ name, texts: stringsOf(value) }));
  for (const field of byName.values()) {
    if (field.phiClass !== 'direct' && field.phiClass !== 'quasi') continue;
    for (const needle of needlesOf(field, input.source[field.name])) {
      const pattern = wholeWord(needle);
      for (const { name, texts } of haystack) {
        if (texts.some((t) => pattern.test(t))) {
          out.push({ rule: 'source_phi_in_clean', field: name, sourceField: field.name });
        }
      }
    }
  }

  for (const [name, value] of Object.entries(input.clean)) {
    const field = byName.get(name);
    if (field === undefined || field.phiClass === 'none') continue;
    for (const text of stringsOf(value)) {
      if (PSEUDONYM.test(text)) continue;
      out.push(...checkIdentifyingText(name, field, text, now));
    }
  }

  const personNames = [...(input.names ?? [])]
    .map((n) => n.trim())
    .filter((n) => n.length >= MIN_NAME_NEEDLE);
  if (personNames.length > 0) {
    const patterns = personNames.map(wholeWord);
    for (const [name, value] of Object.entries(input.clean)) {
      const field = byName.get(name);
      if (field !== undefined && field.phiClass !== 'free_text' && field.phiClass !== 'unclassified')
        continue;
      if (stringsOf(value).some((text) => patterns.some((p) => p.test(text)))) {
        out.push({ rule: 'person_name_in_text', field: name });
      }
    }
  }
  return dedupe(out);
}

function checkIdentifyingText(
  name: string,
  field: FieldContract,
  text: string,
  now: Date,
): SafeHarborViolation[] {
  const out: SafeHarborViolation[] = [];
  if (FINE_DATES.some((p) => p.test(text))) out.push({ rule: 'date_finer_than_year', field: name });
  if (/postal|zip/i.test(name)) {
    if ((text.match(/\d/g) ?? []).length > 3) out.push({ rule: 'zip_longer_than_three', field: name });
    else if (SPARSE_ZIP3.includes(text.trim())) out.push({ rule: 'restricted_zip', field: name });
  } else if (TEXT_ZIPS.some((p) => p.test(text))) {
    out.push({ rule: 'zip_longer_than_three', field: name });
  }
  if (/birth/i.test(name) && /^\d{4}$/.test(text.trim()) && now.getUTCFullYear() - Number(text) > 89) {
    out.push({ rule: 'age_over_89', field: name });
  }
  if (/(^|[a-z])Age$|^age/.test(name) && /^\d+(\.\d+)?$/.test(text.trim()) && Number(text) > 89) {
    out.push({ rule: 'age_over_89', field: name });
  }
  if (field.phiClass === 'free_text' || field.phiClass === 'unclassified') {
    for (const pattern of TEXT_AGES) {
      for (const m of text.matchAll(pattern)) {
        if (Number(m[1]) > 89) out.push({ rule: 'age_over_89', field: name });
      }
    }
  }
  return out;
}

function needlesOf(field: FieldContract, value: unknown): string[] {
  const out = new Set<string>();
  const isName = /name/i.test(field.name);
  for (const raw of stringsOf(value)) {
    const text = raw.trim();
    out.add(text);
    const slash = text.lastIndexOf('/');
    if (slash >= 0) out.add(text.slice(slash + 1));
    const t = text.indexOf('T');
    if (/^\d{4}-\d{2}-\d{2}T/.test(text) && t > 0) out.add(text.slice(0, t));
    if (isName) for (const word of text.split(/\s+/)) out.add(word);
  }
  const min = isName ? MIN_NAME_NEEDLE : MIN_NEEDLE;
  return [...out].filter((n) => n.length >= min);
}

function stringsOf(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number') return [String(value)];
  if (Array.isArray(value)) return value.flatMap(stringsOf);
  return [];
}

function wholeWord(needle: string): RegExp {
  // Only syntax characters may be escaped under the `u` flag ("-" is literal outside a class).
  const escaped = needle.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}_])${escaped}(?![\\p{L}\\p{N}_])`, 'iu');
}

function dedupe(violations: SafeHarborViolation[]): SafeHarborViolation[] {
  const seen = new Set<string>();
  return violations.filter((v) => {
    const key = `${v.rule}|${v.field}|${v.sourceField ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
