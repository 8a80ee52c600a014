import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { serializeError } from '@ehrflow/logging';
import { redactForeignError } from './redact-error.ts';

const CANARY = 'Richard Canaryroe';

describe('redactForeignError', () => {
  it('drops the message of a foreign error but keeps its type, code and frames', () => {
    const original = Object.assign(new SyntaxError(`Unexpected token in "${CANARY}"`), {
      code: 'ERR_BAD',
      value: CANARY,
    });
    const redacted = redactForeignError(original);
    const serialized = serializeError(redacted);
    expect(serialized).toMatchObject({ type: 'SyntaxError', code: 'ERR_BAD' });
    expect(serialized.message).toContain('message omitted');
    expect(serialized.stack).toMatch(/\n\s+at /);
    expect(JSON.stringify(serialized)).not.toContain(CANARY);
  });

  it('returns a PipelineError without a cause unchanged', () => {
    const err = new PipelineError('SCHEMA_NOT_REGISTERED', 'subject ehr.raw-value has no version');
    expect(redactForeignError(err)).toBe(err);
  });

  it('keeps a PipelineError message and code, and redacts its foreign cause', () => {
    const cause = new TypeError(`cannot read ${CANARY}`);
    const err = new PipelineError('PARSE_ERROR', 'record 1f2e: Patient.birthDate unparsable', {
      cause,
      context: { recordId: '1f2e' },
    });
    const serialized = serializeError(redactForeignError(err));
    expect(serialized).toMatchObject({
      type: 'PipelineError',
      code: 'PARSE_ERROR',
      message: 'record 1f2e: Patient.birthDate unparsable',
      context: { recordId: '1f2e' },
      cause: { type: 'TypeError' },
    });
    expect(JSON.stringify(serialized)).not.toContain(CANARY);
    // The caller's error is not modified.
    expect(err.cause).toBe(cause);
  });

  it('describes a thrown non-error by its type only', () => {
    expect(serializeError(redactForeignError(CANARY)).message).toBe(
      'a non-error value was thrown (string; omitted)',
    );
  });
});
