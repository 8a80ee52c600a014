import { PipelineError } from '@ehrflow/errors';
import { parseFhirDate, shiftFhirDate } from '../fhir-date.ts';
import type { Rule } from '../policy.ts';
import { stringFieldsOnly, type MethodModule } from './types.ts';

type DateShiftRule = Extract<Rule, { method: 'dateShift' }>;

/**
 * `dateShift`: moves every date of one patient by the same whole number of days, drawn from a
 * keyed HMAC of the patient's identity (`@ehrflow/phi` `dateShiftDays`): consistent across the
 * patient's records and sources, never 0, bounded by `maxDays` (rule) or the policy's
 * `dateShiftMaxDays`. Intervals between a patient's dates are preserved; precision is kept.
 *
 * Note: shifted dates are not Safe Harbor (which keeps only years); the Safe Harbor policy turns
 * `dateShift` into `generalize` to a year.
 */
export const dateShiftMethod: MethodModule<DateShiftRule> = {
  method: 'dateShift',
  output: 'string',
  check: stringFieldsOnly('dateShift', 'a string (FHIR date) field'),
  create({ field, rule, policy }) {
    const maxDays = rule.maxDays ?? policy.dateShiftMaxDays;
    const path = field.path;
    return (value, scope) => {
      const date = parseFhirDate(String(value));
      if (date === undefined) {
        throw new PipelineError(
          'CONTRACT_VIOLATION',
          `field ${path}: expected a FHIR date, dateTime or instant`,
          {
            context: { fieldPath: path },
          },
        );
      }
      return shiftFhirDate(date, scope.shiftDays(maxDays));
    };
  },
};
