import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { locateJsonError } from './json-syntax.ts';
import { createFhirJsonParser } from './parser.ts';

const CANARY = 'CANARY-PHI-7f3a9c';
const ctx = { recordId: 'rec-0001' };
const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

/** Runs `fn`, expects a PipelineError, and returns it. */
function caught(fn: () => unknown): PipelineError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(PipelineError);
    return err as PipelineError;
  }
  throw new Error('expected a PipelineError');
}

/** Everything about an error that could reach a log line or a quarantine reason. */
function exposed(err: PipelineError): string {
  return [
    err.message,
    err.stack ?? '',
    JSON.stringify(err),
    JSON.stringify(err.context),
    String(err.cause),
  ].join('\n');
}

describe('FHIR JSON parser', () => {
  const parser = createFhirJsonParser({ maxBytes: 1024 });

  it('parses a resource and reports its type, id and size', () => {
    const payload = bytes('{"resourceType":"Patient","id":"fake-1","birthDate":"1970"}');
    const parsed = parser.parse(payload, ctx);
    expect(parsed).toMatchObject({
      format: 'FHIR_JSON',
      resourceType: 'Patient',
      logicalId: 'fake-1',
      sizeBytes: payload.length,
    });
    expect(parsed.resource.birthDate).toBe('1970');
  });

  it('accepts a UTF-8 byte order mark and multi-byte text', () => {
    const payload = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      bytes('{"resourceType":"Patient","name":[{"family":"Ærøskøbing"}]}'),
    ]);
    expect(parser.parse(payload, ctx).resourceType).toBe('Patient');
  });

  it('rejects malformed JSON with the byte position and a reason, never the content', () => {
    const text = `{"resourceType":"Patient","name":[{"family":"${CANARY}"}],"birthDate": ${CANARY}}`;
    const err = caught(() => parser.parse(bytes(text), ctx));
    expect(err.code).toBe('PARSE_ERROR');
    expect(err.context).toMatchObject({
      recordId: 'rec-0001',
      reason: 'unexpected_character',
      position: text.indexOf(`: ${CANARY}}`) + 2,
    });
    expect(err.cause).toBeUndefined();
    expect(exposed(err)).not.toContain(CANARY);
    expect(exposed(err)).not.toContain('CANARY');
  });

  it('counts the position in bytes, after multi-byte characters', () => {
    const text = '{"resourceType":"Patient","family":"Øster",}';
    const err = caught(() => parser.parse(bytes(text), ctx));
    expect(err.context).toMatchObject({
      reason: 'unexpected_character',
      position: Buffer.byteLength(text) - 1,
    });
  });

  it('rejects invalid UTF-8 without echoing bytes', () => {
    const payload = Buffer.concat([
      bytes('{"resourceType":"Patient","x":"'),
      Buffer.from([0xc3, 0x28]),
      bytes('"}'),
    ]);
    expect(caught(() => parser.parse(payload, ctx)).context).toMatchObject({ reason: 'invalid_utf8' });
  });

  it('rejects a payload over the size limit as TOO_LARGE before reading it', () => {
    const payload = bytes(`{"resourceType":"Patient","text":"${'x'.repeat(2000)}"}`);
    const err = caught(() => parser.parse(payload, ctx));
    expect(err.code).toBe('TOO_LARGE');
    expect(err.context).toMatchObject({ sizeBytes: payload.length, maxBytes: 1024 });
  });

  it.each([
    ['[1,2]', 'not_a_json_object'],
    ['"text"', 'not_a_json_object'],
    ['{"id":"fake-1"}', 'resource_type_missing'],
    ['{"resourceType":42}', 'resource_type_invalid'],
    [`{"resourceType":"${CANARY} x"}`, 'resource_type_invalid'],
  ])('rejects %s as PARSE_ERROR %s', (text, reason) => {
    const err = caught(() => parser.parse(bytes(text), ctx));
    expect(err.code).toBe('PARSE_ERROR');
    expect(err.context.reason).toBe(reason);
    expect(exposed(err)).not.toContain(CANARY);
  });
});

describe('JSON syntax locator', () => {
  it.each([
    ['{"a":1', 6, 'unexpected_end'],
    ['', 0, 'unexpected_end'],
    ['{"a":1,}', 7, 'unexpected_character'],
    ['{"a" 1}', 5, 'unexpected_character'],
    ['[1,]', 3, 'unexpected_character'],
    ['[1 2]', 3, 'unexpected_character'],
    ['{"a":tru}', 8, 'unexpected_character'],
    ['{"a":01}', 6, 'unexpected_character'],
    ['{"a":-}', 6, 'invalid_number'],
    ['{"a":1.}', 7, 'invalid_number'],
    ['{"a":1e}', 7, 'invalid_number'],
    ['{"a":"x\\q"}', 8, 'invalid_string_escape'],
    ['{"a":"\\u12G4"}', 7, 'invalid_string_escape'],
    ['{"a":"x\ny"}', 7, 'control_character_in_string'],
    ['{"a":"x', 7, 'unexpected_end'],
    ['{} {}', 3, 'trailing_content'],
    ['{"a":{"b":[{}]}', 15, 'unexpected_end'],
  ])('locates the error in %j at %i (%s)', (text, position, reason) => {
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(locateJsonError(bytes(text))).toEqual({ position, reason });
  });

  it('finds nothing wrong in valid JSON (deeply nested, with escapes and numbers)', () => {
    const text = `${'['.repeat(10_000)}{"a":"\\u00e9\\n","b":[-1.5e+3,0,true,false,null]}${']'.repeat(10_000)}`;
    expect(() => JSON.parse(text) as unknown).not.toThrow();
    expect(locateJsonError(bytes(text)).reason).toBe('unknown');
  });
});
