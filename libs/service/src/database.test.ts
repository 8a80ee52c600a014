import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { inTransaction, toDatabaseError, withClient } from './database.ts';

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

/** A client that records its statements and fails the ones it is told to; an EventEmitter as pg's is. */
function fakeClient(failOn?: string) {
  const statements: string[] = [];
  const released: boolean[] = [];
  const client = Object.assign(new EventEmitter(), {
    statements,
    released,
    query(sql: string): Promise<unknown> {
      statements.push(sql);
      return sql === failOn
        ? Promise.reject(Object.assign(new Error(`failed: ${CANARY}`), { code: '57P01' }))
        : Promise.resolve();
    },
    release(destroy?: boolean): void {
      released.push(destroy === true);
    },
  });
  return client;
}

/** Emits `error` on the client from a timer callback, as a socket would, and resolves after. */
function emitLater(client: EventEmitter, err: Error): Promise<void> {
  return new Promise((resolve) =>
    setImmediate(() => {
      client.emit('error', err);
      resolve();
    }),
  );
}

describe('withClient', () => {
  it('survives an error event of the checked-out client (a server restart): the work fails, the process does not', async () => {
    const client = fakeClient('SELECT 1');
    const failure = withClient(
      () => Promise.resolve(client),
      'table check',
      async (c) => {
        // What pg does when the server ends the connection: an error event from the socket's
        // callback (outside any promise: with no listener it is an uncaught exception), then the
        // query fails.
        await emitLater(c, Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' }));
        await c.query('SELECT 1');
      },
    );
    await expect(failure).rejects.toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(client.released).toEqual([true]);
    expect(client.listenerCount('error')).toBe(0);
  });

  it('destroys a client that saw an error event even when the work itself completed', async () => {
    const client = fakeClient();
    await withClient(
      () => Promise.resolve(client),
      'op',
      (c) => emitLater(c, new Error('Connection terminated unexpectedly')),
    );
    expect(client.released).toEqual([true]);
  });
});

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
