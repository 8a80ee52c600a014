import { WITHHELD_PLACEHOLDER, deidentifyFreeText } from '../free-text.ts';
import { stringFieldsOnly, type MethodModule } from './types.ts';

/**
 * Residual risk above which a scrubbed value is withheld when the rule does not say: the number
 * of words in one value that the name layers could only guess about (unknown lower-case words,
 * unknown acronyms). The generated corpus has at most 3 per note (p99 2); a note written in
 * another language or as a list of unknown tokens goes far above.
 */
export const DEFAULT_MAX_RESIDUAL_RISK = 8;

/**
 * `scrub`: free text keeps its words but loses every identifier: the shared and clinical
 * patterns, the patient's own identifiers (from the same record, and from the patient directory
 * for other records) and the names of anyone (see `deidentifyFreeText`), each replaced by a
 * typed placeholder.
 *
 * Default-deny: when the patient's identifiers are not available (`freeTextIdentifiers()` is
 * undefined), the value is withheld whole (`[WITHHELD]`, reason `patient_unknown`); when the
 * detector's residual risk is above `maxResidualRisk` (default {@link DEFAULT_MAX_RESIDUAL_RISK}),
 * it is withheld too (reason `residual_risk`). Empty and blank values stay as they are.
 */
export const scrubMethod: MethodModule<{ method: 'scrub'; maxResidualRisk?: number }> = {
  method: 'scrub',
  output: 'string',
  check: stringFieldsOnly('scrub'),
  create({ field, rule }) {
    const name = field.name;
    const maxRisk = rule.maxResidualRisk ?? DEFAULT_MAX_RESIDUAL_RISK;
    return (value, scope) => {
      const text = String(value);
      if (text.trim() === '') return text;
      const known = scope.freeTextIdentifiers();
      if (known === undefined) {
        scope.withheld(name, 'patient_unknown');
        return WITHHELD_PLACEHOLDER;
      }
      const result = deidentifyFreeText(text, known);
      if (result.residualRisk > maxRisk) {
        scope.withheld(name, 'residual_risk');
        return WITHHELD_PLACEHOLDER;
      }
      return result.text;
    };
  },
};
