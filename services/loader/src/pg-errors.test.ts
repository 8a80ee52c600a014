import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { toDatabaseError } from './pg-errors.ts';

const CANARY = 'Canary-Value-7731';

function pgError(code: string, message: string): Error {
  return Object.assign(new Error(message), {
    code,
    detail: `Key (logical_id)=(${CANARY}) already exists.`,
    table: 'patient',
    constraint: 'patient_pkey',
  });
}

describe('toDatabaseError', () => {
  it('sorts failures into transient and permanent', () => {
    expect((toDatabaseError(pgError('40001', 'x'), 'op') as PipelineError).code).toBe('DATABASE_UNAVAILABLE');
    expect((toDatabaseError(pgError('57P01', 'x'), 'op') as PipelineError).code).toBe('DATABASE_UNAVAILABLE');
    expect(
      (toDatabaseError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 'op') as PipelineError)
        .retryable,
    ).toBe(true);
    expect(
      (toDatabaseError(new Error('Connection terminated unexpectedly'), 'op') as PipelineError).code,
    ).toBe('DATABASE_UNAVAILABLE');
    expect((toDatabaseError(pgError('23505', 'dup'), 'op') as PipelineError).code).toBe('DATABASE_REJECTED');
  });

  it('keeps no value from the database message or detail', () => {
    const err = toDatabaseError(
      pgError('22P02', `invalid input syntax for type integer: "${CANARY}"`),
      'batch load',
    ) as PipelineError;
    expect(JSON.stringify({ message: err.message, context: err.context, cause: err.cause })).not.toContain(
      CANARY,
    );
    expect(err.context).toMatchObject({ sqlState: '22P02', table: 'patient', constraint: 'patient_pkey' });
  });

  it('passes pipeline and programmer errors through', () => {
    const own = new PipelineError('TABLE_INCOMPATIBLE', 'x');
    expect(toDatabaseError(own, 'op')).toBe(own);
    const bug = new TypeError('bug');
    expect(toDatabaseError(bug, 'op')).toBe(bug);
  });
});
