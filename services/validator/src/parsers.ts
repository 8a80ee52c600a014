import type { RawFormat } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import { createFhirJsonParser, type Parser, type ParserOptions } from '@ehrflow/fhir';

/**
 * A placeholder for a format whose record parser has not shipped: every payload is
 * FORMAT_UNSUPPORTED (a contract failure: quarantined, never retried). HL7 v2 messages do not
 * come here: the handler sends `HL7V2` envelopes down their own path (`hl7-validate.ts`).
 */
export function createUnsupportedParser(format: Exclude<RawFormat, 'FHIR_JSON'>): Parser {
  return {
    format,
    parse(_payload, { recordId }) {
      throw new PipelineError('FORMAT_UNSUPPORTED', `record ${recordId}: no ${format} parser yet`, {
        context: { recordId, format },
      });
    },
  };
}

/** The parser of a raw envelope's `format`: the one table to change when a format's parser ships. */
export function parserFor(format: RawFormat, options: ParserOptions = {}): Parser {
  switch (format) {
    case 'FHIR_JSON':
      return createFhirJsonParser(options);
    case 'HL7V2':
    case 'X12':
      return createUnsupportedParser(format);
  }
}
