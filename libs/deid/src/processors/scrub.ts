import { scrubFreeText } from '../free-text.ts';
import { holdsStrings, typeProblem, type MethodModule } from './types.ts';

/**
 * `scrub`: free text keeps its words but loses every identifier: the patient's own identifiers
 * from the same record, the shared scrubber's detectors and the clinical-text detectors (see
 * `scrubFreeText`), each replaced by a typed placeholder.
 */
export const scrubMethod: MethodModule<{ method: 'scrub' }> = {
  method: 'scrub',
  output: 'string',
  check({ field }) {
    return holdsStrings(field) ? [] : [typeProblem('scrub', field, 'a string or array of strings')];
  },
  create() {
    return (value, scope) => scrubFreeText(String(value), scope.knownIdentifiers());
  },
};
