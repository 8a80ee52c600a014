import { PipelineError } from '@ehrflow/errors';
import type { FieldContract } from '@ehrflow/contracts';
import { parseFhirDate } from '../fhir-date.ts';
import type { GeneralizeTarget, Rule } from '../policy.ts';
import { RESTRICTED_ZIP3 } from '../restricted-zip.ts';
import { holdsStrings, typeProblem, type MethodModule, type ValueProcessor } from './types.ts';

type GeneralizeRule = Extract<Rule, { method: 'generalize' }>;

/** Ages above this are shown as `90+` (Safe Harbor aggregates ages over 89). */
export const OLDEST_SHOWN_AGE = 89;
/** What an age over 89, or a birth year implying one, becomes. */
export const AGE_CAP = '90+';

const DATE_TYPES = new Set(['date', 'dateTime', 'instant']);
const NUMERIC = new Set(['int', 'long', 'float', 'double']);

/**
 * `generalize`, by target (`to`; inferred from the field when absent):
 * - `year`: a date becomes its year (`2024-05-01T10:00:00Z` → `2024`);
 * - `birthYear`: like `year`, but `90+` when the year alone allows an age over 89 at processing
 *   time (born in 1935, seen in 2025: could be 90, so `90+`; the year is what gets published,
 *   so the year decides);
 * - `zip3`: a US ZIP becomes its first three digits, `000` for the restricted prefixes and for
 *   anything that is not a five- or nine-digit ZIP;
 * - `age`: a number of years, `90+` above 89.
 *
 * @see https://www.hhs.gov/hipaa/for-professionals/privacy/special-topics/de-identification/index.html
 */
export const generalizeMethod: MethodModule<GeneralizeRule> = {
  method: 'generalize',
  output: 'string',
  check({ field, rule }) {
    const to = rule.to ?? inferTarget(field);
    if (to === undefined) {
      return ['generalize cannot tell what the field holds; expected "to": year, birthYear, zip3 or age'];
    }
    if (to === 'age') {
      return holdsStrings(field) || NUMERIC.has(field.avroType)
        ? []
        : [typeProblem('generalize', field, 'a number or string')];
    }
    return holdsStrings(field) ? [] : [typeProblem('generalize', field, 'a string or array of strings')];
  },
  complete({ field, rule }) {
    const to = rule.to ?? inferTarget(field);
    return to === undefined ? rule : { method: 'generalize', to };
  },
  create({ field, rule }) {
    const to = rule.to ?? inferTarget(field) ?? 'year';
    return processorFor(to, field.path);
  },
};

/** The target a field implies: dates → year (birth dates → birthYear), postal codes → zip3, ages → age. */
export function inferTarget(field: Pick<FieldContract, 'name' | 'attrs'>): GeneralizeTarget | undefined {
  if (DATE_TYPES.has(String(field.attrs.fhirType))) return /birth/i.test(field.name) ? 'birthYear' : 'year';
  if (/postal|zip/i.test(field.name)) return 'zip3';
  if (/(^|[a-z])age$|^age/i.test(field.name)) return 'age';
  return undefined;
}

function processorFor(to: GeneralizeTarget, path: string): ValueProcessor {
  const fail = (expected: string): never => {
    throw new PipelineError('CONTRACT_VIOLATION', `field ${path}: expected ${expected}`, {
      context: { fieldPath: path },
    });
  };
  switch (to) {
    case 'year':
      return (value) => {
        const date = parseFhirDate(String(value));
        return date === undefined ? fail('a FHIR date') : String(date.year).padStart(4, '0');
      };
    case 'birthYear':
      return (value, scope) => {
        const date = parseFhirDate(String(value));
        if (date === undefined) return fail('a FHIR date');
        const oldest = scope.now.getUTCFullYear() - date.year;
        return oldest > OLDEST_SHOWN_AGE ? AGE_CAP : String(date.year).padStart(4, '0');
      };
    case 'zip3':
      return (value) => generalizeZip(String(value));
    case 'age':
      return (value) => {
        const age = typeof value === 'number' ? value : Number(String(value).trim());
        if (!Number.isFinite(age) || age < 0) return fail('a non-negative age in years');
        // Ages are completed years: 89.9 is 89.
        const years = Math.floor(age);
        return years > OLDEST_SHOWN_AGE ? AGE_CAP : String(years);
      };
  }
}

/** First three digits of a US ZIP (`02139-4307` → `021`); `000` when restricted or not a ZIP. */
export function generalizeZip(zip: string): string {
  const m = /^\s*(\d{3})\d{2}(?:-?\d{4})?\s*$/.exec(zip);
  const prefix = m?.[1];
  return prefix === undefined || RESTRICTED_ZIP3.has(prefix) ? '000' : prefix;
}
