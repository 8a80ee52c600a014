import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { createScrubber } from '@ehrflow/scrubber';
import { serializeError, type SerializedError } from './serialize-error.ts';

describe('serializeError', () => {
  it('keeps type, code, class, scrubbed message and allow-listed context only', () => {
    const err = new PipelineError(
      'MISSING_REQUIRED',
      'Patient.birthDate missing in record for SSN 123-45-6789',
      {
        context: {
          recordId: 'r1',
          field: 'Patient.birthDate',
          offset: 42,
          patientName: 'Zebulon',
          value: 'x',
        },
      },
    );
    const out = serializeError(err);
    expect(out).toMatchObject({
      type: 'PipelineError',
      code: 'MISSING_REQUIRED',
      errorClass: 'contract',
      retryable: false,
      message: 'Patient.birthDate missing in record for SSN [SSN]',
      context: { recordId: 'r1', field: 'Patient.birthDate', offset: 42 },
      contextOmitted: 2,
    });
    expect(JSON.stringify(out)).not.toContain('Zebulon');
  });

  it('never copies arbitrary enumerable properties', () => {
    const err = Object.assign(new Error('failed'), {
      record: { name: 'Zebulon' },
      patient: 'Zebulon',
      detail: 'Zebulon',
      code: 'ECONNRESET',
      errno: -104,
    });
    const out = serializeError(err);
    expect(Object.keys(out).sort()).toEqual(['code', 'message', 'stack', 'type']);
    expect(out.code).toBe('ECONNRESET');
    expect(JSON.stringify(out)).not.toContain('Zebulon');
  });

  it('drops codes that do not look like codes', () => {
    expect(
      serializeError(Object.assign(new Error('x'), { code: 'Jane Canary lives here' })).code,
    ).toBeUndefined();
    expect(serializeError(Object.assign(new Error('x'), { code: 3 })).code).toBe(3);
  });

  it('rebuilds the stack from scrubbed message and scrubbed frames', () => {
    const err = new Error('first line\nsecond line has SSN 123-45-6789');
    err.stack = [
      'Error: first line',
      'second line has SSN 123-45-6789',
      '    at parse (file:///app/libs/fhir/src/parse.ts:10:5)',
      '    at Object.<anonymous> (/app/x.ts:1:1) jane@canary.test',
    ].join('\n');
    const { stack } = serializeError(err);
    expect(stack).toBe(
      [
        'Error: first line\nsecond line has SSN [SSN]',
        '    at parse (/app/libs/fhir/src/parse.ts:10:5)',
        '    at Object.<anonymous> (/app/x.ts:1:1) [EMAIL]',
      ].join('\n'),
    );
  });

  it('follows the cause chain, scrubbed, to a bounded depth', () => {
    let err: Error = new Error('root MRN 1234567');
    for (let i = 0; i < 8; i += 1) err = new Error(`level ${i}`, { cause: err });
    const out = serializeError(err);
    const chain: SerializedError[] = [];
    for (let node: SerializedError | undefined = out; node; node = node.cause) chain.push(node);
    expect(chain).toHaveLength(6);
    expect(chain.at(-1)?.message).toBe('[cause chain truncated]');
    expect(JSON.stringify(out)).not.toContain('1234567');

    const shallow = serializeError(new Error('outer', { cause: new Error('inner MRN 1234567') }));
    expect(shallow.cause?.message).toBe('inner MRN [ID]');
  });

  it('survives circular causes, aggregate errors, odd thrown values and throwing getters', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(serializeError(a).cause?.cause?.type).toBe('Circular');

    const aggregate = new AggregateError([new Error('one 123-45-6789'), 'two'], 'many');
    expect(serializeError(aggregate).errors).toMatchObject([
      { message: 'one [SSN]' },
      { type: 'string', message: 'two' },
    ]);

    expect(serializeError('SSN 123-45-6789')).toEqual({ type: 'string', message: 'SSN [SSN]' });
    expect(serializeError({ name: 'Zebulon' })).toEqual({
      type: 'Object',
      message: '[non-error value omitted]',
    });
    expect(serializeError(42)).toEqual({ type: 'number', message: '[non-error value omitted]' });

    const hostile = new Error('ok');
    Object.defineProperty(hostile, 'code', {
      get() {
        throw new Error('no');
      },
    });
    expect(serializeError(hostile).message).toBe('ok');
  });

  it('uses the scrubber it is given', () => {
    const { scrub } = createScrubber({ sensitive: ['Zebulon'] });
    expect(serializeError(new Error('patient Zebulon failed'), scrub).message).toBe(
      'patient [REDACTED] failed',
    );
  });
});
