/**
 * The extractor's PostgreSQL pool (job state and checkpoints). Bounded in every direction: a
 * connection that does not open, or a free client that does not come back within
 * `connectTimeoutMs`, fails the checkout instead of waiting forever — with several replicas and
 * a database at its connection limit, an unbounded wait would hang a job silently.
 * @see https://node-postgres.com/apis/pool
 */
import pg from 'pg';

export interface DbPoolOptions {
  readonly connectionString: string;
  readonly ssl?: pg.PoolConfig['ssl'];
  /** Connections of this replica (default 5). */
  readonly max?: number;
  /** Time allowed to open a connection or to wait for a free one (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** An idle connection is closed after this (default 30 s). */
  readonly idleTimeoutMs?: number;
  readonly applicationName?: string;
}

export const DB_CONNECT_TIMEOUT_MS = 10_000;

export function createDbPool(options: DbPoolOptions): pg.Pool {
  return new pg.Pool({
    connectionString: options.connectionString,
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
    max: options.max ?? 5,
    connectionTimeoutMillis: options.connectTimeoutMs ?? DB_CONNECT_TIMEOUT_MS,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    application_name: options.applicationName ?? 'extractor',
  });
}
