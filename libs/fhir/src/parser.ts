import { PipelineError } from '@ehrflow/errors';
import { isJsonObject } from './fhir-values.ts';
import { locateJsonError } from './json-syntax.ts';

/**
 * The parser seam: one parser per raw format (the `format` of the raw envelope), and the FHIR
 * JSON one. Which parser serves which format is the validator's business (`parsers.ts` there),
 * not this library's: the HL7 v2 and X12 parsers live in their own libraries.
 *
 * Parse errors say where and why (byte offset, reason from a fixed list) and never quote the
 * payload: not in the message, not in the context, not through a `cause` (V8's JSON messages quote
 * the input, so the original error is deliberately dropped).
 */

export type RawFormat = 'FHIR_JSON' | 'HL7V2' | 'X12';

export interface ParseContext {
  readonly recordId: string;
}

export interface ParsedResource {
  readonly format: RawFormat;
  readonly resourceType: string;
  /** `id` of the resource when it is a string. */
  readonly logicalId: string | undefined;
  readonly resource: Readonly<Record<string, unknown>>;
  readonly sizeBytes: number;
}

export interface Parser {
  readonly format: RawFormat;
  /**
   * @throws PipelineError TOO_LARGE over the size limit, PARSE_ERROR when malformed,
   *   FORMAT_UNSUPPORTED for formats without a parser yet.
   */
  parse(payload: Uint8Array, ctx: ParseContext): ParsedResource;
}

export interface ParserOptions {
  /** Largest payload accepted, in bytes (default {@link DEFAULT_MAX_PAYLOAD_BYTES}). */
  readonly maxBytes?: number;
}

/** 4 MiB: far above any single clinical resource, small enough to bound memory per record. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

/** `resourceType` must look like a FHIR type name; anything else is not FHIR and is never echoed. */
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const UTF8_BOM = [0xef, 0xbb, 0xbf];

/**
 * Parses one FHIR R4 resource in JSON.
 * @see https://hl7.org/fhir/R4/json.html
 */
export function createFhirJsonParser(options: ParserOptions = {}): Parser {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return {
    format: 'FHIR_JSON',
    parse(payload, { recordId }) {
      if (payload.byteLength > maxBytes) {
        throw new PipelineError(
          'TOO_LARGE',
          `FHIR JSON payload of record ${recordId} exceeds ${maxBytes} bytes`,
          {
            context: { recordId, format: 'FHIR_JSON', sizeBytes: payload.byteLength, maxBytes },
          },
        );
      }
      const bom = UTF8_BOM.every((b, k) => payload[k] === b) ? UTF8_BOM.length : 0;
      const body = payload.subarray(bom);
      let text: string;
      try {
        text = decoder.decode(body);
      } catch {
        throw parseError(recordId, 'invalid_utf8', undefined);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        const { position, reason } = locateJsonError(body);
        throw parseError(recordId, reason, reason === 'unknown' ? undefined : position + bom);
      }
      if (!isJsonObject(json)) throw parseError(recordId, 'not_a_json_object', undefined);
      const { resourceType, id } = json;
      if (resourceType === undefined) throw parseError(recordId, 'resource_type_missing', undefined);
      if (typeof resourceType !== 'string' || !RESOURCE_TYPE.test(resourceType)) {
        throw parseError(recordId, 'resource_type_invalid', undefined);
      }
      return {
        format: 'FHIR_JSON',
        resourceType,
        logicalId: typeof id === 'string' ? id : undefined,
        resource: json,
        sizeBytes: payload.byteLength,
      };
    },
  };
}

function parseError(recordId: string, reason: string, position: number | undefined): PipelineError {
  const where = position === undefined ? '' : ` at byte ${position}`;
  return new PipelineError(
    'PARSE_ERROR',
    `FHIR JSON payload of record ${recordId} is malformed: ${reason}${where}`,
    {
      context: { recordId, format: 'FHIR_JSON', reason, position },
    },
  );
}
