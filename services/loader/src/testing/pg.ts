/** PostgreSQL helpers for the loader's integration tests: a pool and a unique schema per test file. */
import { randomBytes } from 'node:crypto';
import { localStack } from '@ehrflow/testing';
import pg from 'pg';
import { ident } from '../names.ts';

export const TEST_DATABASE_URL = localStack().databaseUrl;

export function uniqueSuffix(): string {
  return `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export interface TestDatabase {
  readonly pool: pg.Pool;
  /** A fresh schema name (`loader_t_<suffix>`), dropped by `close()`. */
  readonly schema: string;
  count(table: string, where?: string, values?: unknown[]): Promise<number>;
  close(): Promise<void>;
}

export function testDatabase(): TestDatabase {
  const pool = new pg.Pool({ connectionString: TEST_DATABASE_URL, max: 4 });
  const schema = `loader_t_${uniqueSuffix()}`;
  return {
    pool,
    schema,
    async count(table, where = 'true', values = []) {
      const res = await pool.query<{ n: string }>(
        `SELECT count(*) AS n FROM ${ident(schema)}.${ident(table)} WHERE ${where}`,
        values,
      );
      return Number(res.rows[0]?.n ?? 0);
    },
    async close() {
      await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`).catch(() => undefined);
      await pool.end();
    },
  };
}
