import { WITHHELD_PLACEHOLDER, scrubFreeText } from '../free-text.ts';
import { holdsStrings, typeProblem, type MethodModule } from './types.ts';

/**
 * `scrub`: free text keeps its words but loses every identifier: the patient's own identifiers
 * (from the same record, and from the patient directory for other records), the shared
 * scrubber's detectors and the clinical-text detectors (see `scrubFreeText`), each replaced by a
 * typed placeholder.
 *
 * Default-deny: when the patient's identifiers are not available (`freeTextIdentifiers()` is
 * undefined), the value is withheld whole (`[WITHHELD]`): pattern detectors alone let bare names
 * through. Empty and blank values stay as they are (nothing to withhold).
 */
export const scrubMethod: MethodModule<{ method: 'scrub' }> = {
  method: 'scrub',
  output: 'string',
  check({ field }) {
    return holdsStrings(field) ? [] : [typeProblem('scrub', field, 'a string or array of strings')];
  },
  create({ field }) {
    const name = field.name;
    return (value, scope) => {
      const text = String(value);
      if (text.trim() === '') return text;
      const known = scope.freeTextIdentifiers();
      if (known === undefined) {
        scope.withheld(name);
        return WITHHELD_PLACEHOLDER;
      }
      return scrubFreeText(text, known);
    };
  },
};
