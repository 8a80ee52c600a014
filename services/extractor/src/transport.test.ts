import { ConfigError } from '@ehrflow/config';
import { createLogger } from '@ehrflow/logging';
import { describe, expect, it } from 'vitest';
import { extractorTransport } from './transport.ts';

function capture() {
  const lines: string[] = [];
  const logger = createLogger({
    name: 'extractor',
    level: 'debug',
    destination: { write: (line: string) => void lines.push(line) },
  });
  const entries = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, lines, entries };
}

const PASSWORD = 'Sekr1t-pw-value';

const tlsEnv = {
  EHRFLOW_MODE: 'production',
  KAFKA_SSL: 'true',
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'ehrflow',
  KAFKA_SASL_PASSWORD: PASSWORD,
  REDIS_URL: `rediss://:${PASSWORD}@127.0.0.1:6380`,
  DATABASE_URL: `postgres://postgres:${PASSWORD}@127.0.0.1:5433/postgres?sslmode=verify-full`,
};

const plainEnv = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: `postgres://postgres:${PASSWORD}@127.0.0.1:5432/postgres`,
};

describe('extractorTransport', () => {
  it('turns TLS on for all three clients, verifying the server, and warns about nothing', () => {
    const { logger, lines } = capture();
    const t = extractorTransport(tlsEnv, logger);
    expect(t.kafka.ssl).toEqual({ rejectUnauthorized: true });
    expect(t.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'ehrflow', password: PASSWORD });
    expect(t.redis).toEqual({ tls: { rejectUnauthorized: true } });
    expect(t.pg.ssl).toEqual({ rejectUnauthorized: true });
    // node-pg would let the URL's sslmode replace the ssl option (and drop the CA).
    expect(t.pg.connectionString).not.toContain('sslmode');
    expect(t.pg.connectionString).toContain('127.0.0.1:5433');
    expect(lines).toEqual([]);
  });

  it('leaves plaintext clients plaintext and logs one warning per client outside development', () => {
    const { logger, entries, lines } = capture();
    const t = extractorTransport({ ...plainEnv, EHRFLOW_MODE: 'production' }, logger);
    expect(t.kafka).toEqual({});
    expect(t.redis).toEqual({});
    expect(t.pg).toEqual({ connectionString: plainEnv.DATABASE_URL });
    const warnings = entries().map((e) => ({ level: e.level, client: e.client, reason: e.reason }));
    expect(warnings).toEqual(
      ['kafka', 'redis', 'postgres'].map((client) => ({
        level: 40,
        client,
        reason: 'plaintext-outside-development',
      })),
    );
    expect(lines.join('')).not.toContain(PASSWORD);
  });

  it('says nothing about plaintext in development mode', () => {
    const { logger, lines } = capture();
    extractorTransport({ ...plainEnv, EHRFLOW_MODE: 'development' }, logger);
    expect(lines).toEqual([]);
  });

  it('refuses inconsistent settings, naming the variables and not their values', () => {
    const { logger } = capture();
    const bad = {
      ...plainEnv,
      EHRFLOW_MODE: 'development',
      REDIS_TLS_CA: '/nowhere/ca.crt',
      DATABASE_URL: `${plainEnv.DATABASE_URL}?sslmode=prefer`,
    };
    let error: unknown;
    try {
      extractorTransport(bad, logger);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.variable)).toEqual(['REDIS_TLS_CA', 'DATABASE_URL']);
    expect(String((error as Error).message)).not.toContain(PASSWORD);
    expect(JSON.stringify(error)).not.toContain(PASSWORD);
  });
});
