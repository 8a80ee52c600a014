import type { KnownIdentifiers } from './known-identifiers.ts';
import { deidentifyText, type TextResult } from './text/text-deidentifier.ts';

/**
 * What a free-text value becomes when it cannot be de-identified safely (its patient's
 * identifiers are not available, the detector's residual risk is above the policy's threshold,
 * or the policy withholds the field).
 */
export const WITHHELD_PLACEHOLDER = '[WITHHELD]';

/** Why a free-text value was withheld; the label of the redactor's counter. */
export type WithheldReason = 'patient_unknown' | 'residual_risk' | 'policy';

/**
 * De-identifies free text (notes, narratives, `valueString`) with every detector layer: the shared
 * scrubber's and the clinical patterns (dates, ages over 89, phones, e-mail, URLs, IPs, SSNs,
 * labelled ids, addresses), the patient's own identifiers (`known`, from the record and the
 * patient directory), then the name layers — context, name dictionaries, capitalised-token
 * heuristic — which remove the names of anyone (relatives, clinicians, callers), not only the
 * patient's. See `text/text-deidentifier.ts` and `libs/deid/README.md` for figures and limits.
 */
export function scrubFreeText(text: string, known: KnownIdentifiers): string {
  return deidentifyText(text, known).text;
}

/** As {@link scrubFreeText}, with the residual risk the policy's threshold is compared with. */
export function deidentifyFreeText(text: string, known: KnownIdentifiers): TextResult {
  return deidentifyText(text, known);
}
