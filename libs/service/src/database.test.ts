import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { inTransaction, toDatabaseError, type TransactionClient } from './database.ts';

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

/** A client that records its statements and fails the ones it is told to. */
function fakeClient(failOn?: string): TransactionClient & { statements: string[]; released: boolean[] } {
  const statements: string[] = [];
  const released: boolean[] = [];
  return {
    statements,
    released,
    query(sql: string) {
      statements.push(sql);
      return sql === failOn
        ? Promise.reject(Object.assign(new Error(`failed: ${CANARY}`), { code: '57P01' }))
        : Promise.resolve();
    },
    release(destroy?: boolean) {
      released.push(destroy === true);
    },
  };
}

describe('inTransaction', () => {
  it('commits what the work returns and gives the connection back', async () => {
    const client = fakeClient();
    const value = await inTransaction(
      () => Promise.resolve(client),
      'op',
      async (c) => {
        await c.query('UPDATE x');
        return 7;
      },
    );
    expect(value).toBe(7);
    expect(client.statements).toEqual(['BEGIN', 'UPDATE x', 'COMMIT']);
    expect(client.released).toEqual([false]);
  });

  it('rolls back when the commit predicate says no', async () => {
    const client = fakeClient();
    const value = await inTransaction(
      () => Promise.resolve(client),
      'op',
      () => Promise.resolve(false),
      (ok) => ok,
    );
    expect(value).toBe(false);
    expect(client.statements).toEqual(['BEGIN', 'ROLLBACK']);
    expect(client.released).toEqual([false]);
  });

  it('rolls back a failed transaction, drops its connection and classifies the failure', async () => {
    const client = fakeClient('UPDATE x');
    const failure = inTransaction(
      () => Promise.resolve(client),
      'batch load',
      async (c) => {
        await c.query('UPDATE x');
      },
    );
    await expect(failure).rejects.toMatchObject({
      code: 'DATABASE_UNAVAILABLE',
      context: { operation: 'batch load' },
    });
    await expect(failure).rejects.not.toHaveProperty('message', expect.stringContaining(CANARY));
    expect(client.statements).toEqual(['BEGIN', 'UPDATE x', 'ROLLBACK']);
    expect(client.released).toEqual([true]);
  });

  it("passes the work's own pipeline errors through after rolling back", async () => {
    const client = fakeClient();
    const own = new PipelineError('TABLE_INCOMPATIBLE', 'x');
    await expect(
      inTransaction(
        () => Promise.resolve(client),
        'migration',
        () => Promise.reject(own),
      ),
    ).rejects.toBe(own);
    expect(client.statements).toEqual(['BEGIN', 'ROLLBACK']);
  });

  it('classifies a failed connection without a client to release', async () => {
    const refused = Object.assign(new Error('connect'), { code: 'ECONNREFUSED' });
    await expect(
      inTransaction(
        () => Promise.reject(refused),
        'commit batch',
        () => Promise.resolve(1),
      ),
    ).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE', retryable: true });
  });
});
