import { PipelineError, TRANSIENT_NETWORK_CODES, isPipelineError, isProgrammerError } from '@ehrflow/errors';

/** SQLSTATEs (or classes, by their first two characters) worth retrying: the database, not the data. */
const TRANSIENT_STATES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '57014']);
const TRANSIENT_CLASSES = new Set(['08', '53']);

interface PgErrorShape {
  readonly code?: unknown;
  readonly table?: unknown;
  readonly column?: unknown;
  readonly constraint?: unknown;
}

/**
 * Turns a failure of a database call into a `PipelineError`: `DATABASE_UNAVAILABLE` (transient)
 * for connection loss, timeouts, serialization failures and deadlocks; `DATABASE_REJECTED`
 * otherwise. PostgreSQL's message and detail can quote a value (`Key (x)=(…)`, `invalid input
 * syntax for type …: "…"`), so neither is kept and the cause is left off: only the SQLSTATE and
 * the names of the table, column and constraint go into the context.
 */
export function toDatabaseError(err: unknown, operation: string): unknown {
  if (isPipelineError(err) || isProgrammerError(err)) return err;
  const shape = (err ?? {}) as PgErrorShape;
  const code = typeof shape.code === 'string' ? shape.code : undefined;
  const context = {
    operation,
    sqlState: code,
    table: typeof shape.table === 'string' ? shape.table : undefined,
    column: typeof shape.column === 'string' ? shape.column : undefined,
    constraint: typeof shape.constraint === 'string' ? shape.constraint : undefined,
  };
  if (isTransient(err, code)) {
    return new PipelineError(
      'DATABASE_UNAVAILABLE',
      `database unavailable during ${operation} (${code ?? 'connection lost'})`,
      {
        context,
      },
    );
  }
  return new PipelineError(
    'DATABASE_REJECTED',
    `database refused ${operation} (SQLSTATE ${code ?? 'unknown'})`,
    { context },
  );
}

function isTransient(err: unknown, code: string | undefined): boolean {
  if (code !== undefined) {
    if (TRANSIENT_NETWORK_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code))
      return TRANSIENT_STATES.has(code) || TRANSIENT_CLASSES.has(code.slice(0, 2));
  }
  // pg reports a dropped socket and a pool checkout timeout as plain Errors without a code.
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    message,
  );
}

/** The part of a pg `PoolClient` these helpers need (structural, so this lib needs no `pg`). */
export interface TransactionClient {
  query(sql: string): Promise<unknown>;
  release(destroy?: boolean): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Runs `work` on a client from `connect` (e.g. `() => pool.connect()`) and gives it back; every
 * database failure, the connection's included, leaves as `toDatabaseError(err, operation)`.
 *
 * While a pg client is checked out the pool no longer listens for its `error` event, and an
 * `error` event nobody listens for ends the process: a PostgreSQL restart that drops the
 * connection mid-work would crash the service instead of failing the call. So the client has a
 * listener for as long as `work` holds it; the call fails through the query that was running
 * (or the next), and a client that saw an error or whose work failed is destroyed, not pooled.
 */
export async function withClient<C extends TransactionClient, T>(
  connect: () => Promise<C>,
  operation: string,
  work: (client: C) => Promise<T>,
): Promise<T> {
  let client: C;
  try {
    client = await connect();
  } catch (err) {
    throw toDatabaseError(err, operation);
  }
  let broken = false;
  const onError = (): void => {
    broken = true;
  };
  client.on('error', onError);
  try {
    return await work(client);
  } catch (err) {
    broken = true;
    throw toDatabaseError(err, operation);
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/**
 * Runs `work` in one transaction (`withClient`): BEGIN, then COMMIT when `work` returns and
 * `commit(value)` holds (default: always), ROLLBACK when it does not or when `work` throws. A
 * connection whose transaction failed is not returned to the pool: the pool opens a new one
 * rather than trust it again.
 */
export async function inTransaction<C extends TransactionClient, T>(
  connect: () => Promise<C>,
  operation: string,
  work: (client: C) => Promise<T>,
  commit: (value: T) => boolean = () => true,
): Promise<T> {
  return withClient(connect, operation, async (client) => {
    await client.query('BEGIN');
    try {
      const value = await work(client);
      await client.query(commit(value) ? 'COMMIT' : 'ROLLBACK');
      return value;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}
