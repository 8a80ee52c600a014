/**
 * TLS in transit against the local stack started with `deploy/local/stack up --tls`: Redis and
 * PostgreSQL over TLS, each configured only through `tls.ts`, and proof that a plaintext client, a
 * client without the CA and a client expecting another host name are refused. Kafka over SASL_SSL
 * is proved in libs/kafka (`config-sasl-ssl.int.test.ts`), where the Kafka client may be imported.
 *
 * Runs when the stack's TLS env file exists (`$EHRFLOW_STACK_HOME/run/tls.env`, written by
 * `stack up --tls` and removed by `stack down`) or when STACK_TLS_TEST=1 (then the variables come
 * from that file or, without it, from the process environment, and a missing one fails the test).
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { Client, type ClientConfig } from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Env } from './env.ts';
import { readStackTlsEnv, stackTlsEnvFile } from './testing/stack-tls-env.ts';
import { pgTls, redisTls, type PgTlsOptions, type RedisTlsOptions } from './tls.ts';

const envFile = stackTlsEnvFile();
const forced = process.env.STACK_TLS_TEST === '1';

const source: Env | undefined = readStackTlsEnv(envFile) ?? (forced ? process.env : undefined);
const title =
  source === undefined
    ? `TLS in transit — skipped: no TLS stack (${envFile} is absent; run deploy/local/stack up --tls, or set STACK_TLS_TEST=1)`
    : 'TLS in transit';

/**
 * The stack's variables in production mode, so a plaintext fallback would show as a warning.
 * Called from hooks only: vitest still collects the body of a skipped suite.
 */
function stackEnv(): Env {
  if (source === undefined) throw new Error('unreachable: the suite is skipped without a TLS env');
  for (const name of ['REDIS_URL', 'REDIS_TLS_CA', 'DATABASE_URL', 'PG_SSL_CA']) {
    if (source[name] === undefined)
      throw new Error(`STACK_TLS_TEST=1 but ${name} is not set (run: stack env --tls)`);
  }
  return { ...source, EHRFLOW_MODE: 'production' };
}

const runId = randomBytes(4).toString('hex');
/** A name the certificate does not carry: the handshake must fail on it. */
const WRONG_HOST = 'not-in-the-certificate.invalid';

describe.skipIf(source === undefined)(title, () => {
  describe('redis (TLS)', () => {
    let options: RedisTlsOptions;
    let url: string;
    beforeAll(() => {
      const env = stackEnv();
      options = redisTls(env);
      url = env.REDIS_URL ?? '';
    });
    /** Connects without retries; a failure rejects with the socket's own error when there is one. */
    const connect = async (extra: RedisOptions, target?: string): Promise<Redis> => {
      const redis = new Redis(target ?? url, {
        tls: options.tls,
        lazyConnect: true,
        connectTimeout: 3_000,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        ...extra,
      });
      // ioredis reports a TLS failure as an 'error' event and rejects connect() with "Connection is closed".
      let socketError: Error | undefined;
      redis.on('error', (err: Error) => {
        socketError ??= err;
      });
      try {
        await redis.connect();
      } catch (err) {
        throw socketError ?? err;
      }
      return redis;
    };

    it('is configured for TLS without a warning', () => {
      expect(url.startsWith('rediss://')).toBe(true);
      expect(options.tls?.ca).toContain('BEGIN CERTIFICATE');
      expect(options.warning).toBeUndefined();
    });

    it('SETs and GETs a key over TLS', async () => {
      const redis = await connect({});
      const key = `ehrflow:tls-test:${runId}`;
      try {
        await redis.set(key, 'tls-probe', 'EX', 60);
        expect(await redis.get(key)).toBe('tls-probe');
      } finally {
        await redis.del(key);
        redis.disconnect();
      }
    });

    it('refuses plaintext, a client without the CA and another host name', async () => {
      const error = async (extra: RedisOptions, target?: string): Promise<string> => {
        try {
          const redis = await connect(extra, target);
          // Should a plaintext client get past connect(), its first command must still fail.
          try {
            await redis.ping();
          } finally {
            redis.disconnect();
          }
        } catch (err) {
          return (err as Error).message;
        }
        return 'connected';
      };
      expect(await error({ tls: undefined }, url.replace(/^rediss:/, 'redis:'))).toMatch(
        /Connection is closed|ECONNRESET|socket/i,
      );
      expect(await error({ tls: { rejectUnauthorized: true } })).toMatch(/self-signed certificate|unable to/);
      expect(await error({ tls: { ...options.tls, servername: WRONG_HOST } })).toMatch(
        /altnames|does not match/i,
      );
    });
  });

  describe('postgres (TLS)', () => {
    let options: PgTlsOptions;
    beforeAll(() => {
      options = pgTls(stackEnv());
    });
    const query = async (config: Partial<ClientConfig>, sql: string): Promise<Record<string, unknown>[]> => {
      const client = new Client({
        connectionString: options.connectionString,
        ssl: options.ssl,
        connectionTimeoutMillis: 5_000,
        ...config,
      });
      client.on('error', () => undefined);
      await client.connect();
      try {
        return (await client.query<Record<string, unknown>>(sql)).rows;
      } finally {
        await client.end();
      }
    };

    it('is configured for TLS without a warning', () => {
      expect(options.ssl?.ca).toContain('BEGIN CERTIFICATE');
      expect(options.connectionString).not.toContain('sslmode');
      expect(options.warning).toBeUndefined();
    });

    it('runs a query on a connection that pg_stat_ssl reports as TLS', async () => {
      expect(await query({}, 'select 1 as one')).toEqual([{ one: 1 }]);
      expect(await query({}, 'select ssl from pg_stat_ssl where pid = pg_backend_pid()')).toEqual([
        { ssl: true },
      ]);
    });

    it('refuses plaintext, a client without the CA and another host name', async () => {
      const error = (config: Partial<ClientConfig>): Promise<string> =>
        query(config, 'select 1').then(
          () => 'connected',
          (err: unknown) => (err as Error).message,
        );
      expect(await error({ ssl: false })).toMatch(/no pg_hba.conf entry|no encryption/);
      expect(await error({ ssl: { rejectUnauthorized: true } })).toMatch(/self-signed certificate|unable to/);
      expect(await error({ ssl: { ...options.ssl, servername: WRONG_HOST } })).toMatch(
        /altnames|does not match/i,
      );
    });
  });
});
