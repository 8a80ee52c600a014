import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type Env } from './env.ts';
import { createTestCa, issueTestCertificate } from './testing/test-pki.ts';
import { kafkaTls, pgTls, redisTls } from './tls.ts';

// Public certificates only (their keys were thrown away): one CA, one leaf that is not a CA.
const CA_PEM = `-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUV99hPGzZ+pnGHKEMQd7jYjdVLWwwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUZWhyZmxvdyB1bml0LXRlc3QgQ0EwIBcNMjYxMTI1MTY1MjEw
WhgPMjEyNjExMDExNjUyMTBaMB8xHTAbBgNVBAMMFGVocmZsb3cgdW5pdC10ZXN0
IENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkMloJ22vR4pmi/mC/JaFxkc9
o0aVlFs8zdOeUh5v0ajfM1wjg9+QGzWi4ED8bgLJwMc7ICKsmIOyR5dOMiIhAKNT
MFEwHQYDVR0OBBYEFA2Iec0NXUpl47Unj6Y8rMfZLKCHMB8GA1UdIwQYMBaAFA2I
ec0NXUpl47Unj6Y8rMfZLKCHMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SAAwRQIhAOHD6wBjyHdZKzW5payKCA16bglJ4PrGjZsk25gsWtNdAiB+zzWWC4yf
rDr3KMtvzNz9ybkfj+I4PteQssHjy09wMA==
-----END CERTIFICATE-----
`;
const LEAF_PEM = `-----BEGIN CERTIFICATE-----
MIIBcjCCARigAwIBAgIUAOTlhsXDNW6jhyJS5my4H0HjKOgwCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEbGVhZjAgFw0yNjExMjUxNjUyMTBaGA8yMTI2MTEwMTE2NTIx
MFowDzENMAsGA1UEAwwEbGVhZjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABL1Q
e3setr1kqSkdTz5CqsfPtSBSiAJbMGqHI1yJST4w+Fha4gapZDtfpOrHGnaxfWh6
UmDv3mc7cyd/7YHa+gSjUDBOMB0GA1UdDgQWBBTX61h5runbqvN9FX20DtXN0l5t
PDAfBgNVHSMEGDAWgBTX61h5runbqvN9FX20DtXN0l5tPDAMBgNVHRMBAf8EAjAA
MAoGCCqGSM49BAMCA0gAMEUCIQDKll/uC75tRyh3ZH/QEWcVO/7OfEytOhfAFjHF
sTIefQIgPUFdpcg2H99OhWnJQIVIcXL3sFlkrszGlJ4fmZMQq4I=
-----END CERTIFICATE-----
`;

const SECRET = 'cnry-secret-9f3a';

function tempFile(name: string, content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ehrflow-tls-')), name);
  writeFileSync(file, content);
  return file;
}

function problemsOf(fn: () => unknown): ConfigError['problems'] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('kafkaTls', () => {
  const tlsEnv: Env = {
    EHRFLOW_MODE: 'production',
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA: tempFile('ca.crt', CA_PEM),
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'svc',
    KAFKA_SASL_PASSWORD: SECRET,
  };

  it('pins the CA file, verifies the server and passes SCRAM credentials', () => {
    const out = kafkaTls(tlsEnv);
    expect(out.ssl).toEqual({ ca: CA_PEM, rejectUnauthorized: true });
    // Host name verification stays Node's default: nothing may replace it.
    expect(out.ssl).not.toHaveProperty('checkServerIdentity');
    expect(out.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: SECRET });
    expect(out.warning).toBeUndefined();
  });

  it('accepts the CA inline and the password from a *_FILE', () => {
    const out = kafkaTls({
      ...tlsEnv,
      KAFKA_SSL_CA: CA_PEM,
      KAFKA_SASL_PASSWORD: undefined,
      KAFKA_SASL_PASSWORD_FILE: tempFile('pw', `${SECRET}\n`),
    });
    expect(out.ssl?.ca).toBe(CA_PEM);
    expect(out.sasl?.password).toBe(SECRET);
  });

  it('trusts the system store when TLS is on without a CA', () => {
    expect(kafkaTls({ KAFKA_SSL: 'yes' }).ssl).toEqual({ rejectUnauthorized: true });
  });

  it('warns on plaintext outside development only', () => {
    expect(kafkaTls({ EHRFLOW_MODE: 'production' }).warning?.reason).toBe('plaintext-outside-development');
    expect(kafkaTls({}).warning?.client).toBe('kafka'); // the mode defaults to production
    expect(kafkaTls({ EHRFLOW_MODE: 'development' })).toEqual({
      ssl: undefined,
      sasl: undefined,
      warning: undefined,
    });
  });

  it('warns on SASL over plaintext even in development', () => {
    const out = kafkaTls({
      ...tlsEnv,
      EHRFLOW_MODE: 'development',
      KAFKA_SSL: 'false',
      KAFKA_SSL_CA: undefined,
    });
    expect(out.warning?.reason).toBe('sasl-over-plaintext');
    expect(out.warning?.message).not.toContain(SECRET);
  });

  it('lists every inconsistency by variable, without values', () => {
    const problems = problemsOf(() =>
      kafkaTls({
        EHRFLOW_MODE: 'staging',
        KAFKA_SSL: 'false',
        KAFKA_SSL_CA: '/nonexistent/ca.crt',
        KAFKA_SASL_MECHANISM: 'gssapi',
        KAFKA_SASL_USERNAME: SECRET,
        KAFKA_SASL_PASSWORD: SECRET,
      }),
    );
    expect(problems.map((p) => p.variable)).toEqual(['EHRFLOW_MODE', 'KAFKA_SSL_CA', 'KAFKA_SASL_MECHANISM']);
    expect(JSON.stringify(problems)).not.toContain(SECRET);
    expect(JSON.stringify(problems)).not.toContain('staging');
  });

  it('requires credentials with a mechanism and a mechanism with credentials', () => {
    expect(problemsOf(() => kafkaTls({ KAFKA_SASL_MECHANISM: 'plain' })).map((p) => p.variable)).toEqual([
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
    ]);
    expect(problemsOf(() => kafkaTls({ KAFKA_SASL_USERNAME: 'svc' })).map((p) => p.variable)).toEqual([
      'KAFKA_SASL_MECHANISM',
    ]);
  });

  it('rejects an unreadable file, a non-PEM value and a certificate that is not a CA', () => {
    const reasons = (ca: string) => problemsOf(() => kafkaTls({ KAFKA_SSL: 'true', KAFKA_SSL_CA: ca }));
    expect(reasons('/nonexistent/ca.crt')).toEqual([
      { variable: 'KAFKA_SSL_CA', reason: 'cannot read the file it names (ENOENT)' },
    ]);
    expect(reasons(tempFile('ca.crt', 'not a certificate'))[0]?.reason).toBe('is not a PEM certificate');
    expect(reasons(LEAF_PEM)[0]?.reason).toBe('is not a CA certificate');
  });
});

describe('kafkaTls client certificate (mTLS)', () => {
  const ca = createTestCa('ehrflow unit-test client CA');
  const client = issueTestCertificate(ca, 'client', 'ehrflow-unit-client');
  const other = issueTestCertificate(ca, 'client', 'another-client');
  const base: Env = { EHRFLOW_MODE: 'production', KAFKA_SSL: 'true', KAFKA_SSL_CA: ca.certFile };

  it('adds the certificate and key (files or inline PEM) to the verified ssl options', () => {
    const fromFiles = kafkaTls({ ...base, KAFKA_SSL_CERT: client.certFile, KAFKA_SSL_KEY: client.keyFile });
    expect(fromFiles.ssl).toEqual({
      ca: ca.certPem,
      cert: client.certPem,
      key: client.keyPem,
      rejectUnauthorized: true,
    });
    expect(fromFiles.sasl).toBeUndefined();
    expect(fromFiles.warning).toBeUndefined();
    const inline = kafkaTls({ ...base, KAFKA_SSL_CERT: client.certPem, KAFKA_SSL_KEY: client.keyPem });
    expect(inline.ssl?.key).toBe(client.keyPem);
  });

  it('takes mTLS and SASL together', () => {
    const out = kafkaTls({
      ...base,
      KAFKA_SSL_CERT: client.certFile,
      KAFKA_SSL_KEY: client.keyFile,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'svc',
      KAFKA_SASL_PASSWORD: SECRET,
    });
    expect(out.ssl?.cert).toBe(client.certPem);
    expect(out.sasl?.mechanism).toBe('scram-sha-512');
  });

  it('refuses half a pair, a pair without TLS, a CA as client certificate and a key of another certificate', () => {
    const variables = (env: Env) => problemsOf(() => kafkaTls(env));
    expect(variables({ ...base, KAFKA_SSL_CERT: client.certFile })).toEqual([
      { variable: 'KAFKA_SSL_KEY', reason: 'is required when KAFKA_SSL_CERT is set' },
    ]);
    expect(variables({ KAFKA_SSL_CERT: client.certFile, KAFKA_SSL_KEY: client.keyFile })).toEqual([
      { variable: 'KAFKA_SSL_CERT', reason: 'is set but KAFKA_SSL is not true' },
      { variable: 'KAFKA_SSL_KEY', reason: 'is set but KAFKA_SSL is not true' },
    ]);
    expect(variables({ ...base, KAFKA_SSL_CERT: ca.certFile, KAFKA_SSL_KEY: ca.keyFile })).toEqual([
      { variable: 'KAFKA_SSL_CERT', reason: 'is a CA certificate, not a client certificate' },
    ]);
    expect(variables({ ...base, KAFKA_SSL_CERT: client.certFile, KAFKA_SSL_KEY: other.keyFile })).toEqual([
      { variable: 'KAFKA_SSL_KEY', reason: 'does not belong to the certificate in KAFKA_SSL_CERT' },
    ]);
  });

  it('names an unreadable or malformed key without echoing it', () => {
    const garbage = `-----BEGIN PRIVATE KEY-----\n${SECRET}\n-----END PRIVATE KEY-----\n`;
    const problems = problemsOf(() =>
      kafkaTls({ ...base, KAFKA_SSL_CERT: '/nonexistent/client.crt', KAFKA_SSL_KEY: garbage }),
    );
    expect(problems).toEqual([
      { variable: 'KAFKA_SSL_CERT', reason: 'cannot read the file it names (ENOENT)' },
      { variable: 'KAFKA_SSL_KEY', reason: 'is not an unencrypted PEM private key' },
    ]);
    expect(JSON.stringify(problems)).not.toContain(SECRET);
  });
});

describe('redisTls', () => {
  it('turns rediss:// into verified TLS with the pinned CA', () => {
    const out = redisTls({
      REDIS_URL: `rediss://:${SECRET}@127.0.0.1:6380`,
      REDIS_TLS_CA: tempFile('ca.crt', CA_PEM),
    });
    expect(out).toEqual({ tls: { ca: CA_PEM, rejectUnauthorized: true }, warning: undefined });
  });

  it('warns on redis:// outside development, not in it', () => {
    expect(redisTls({ REDIS_URL: 'redis://127.0.0.1:6379' }).warning).toMatchObject({
      client: 'redis',
      reason: 'plaintext-outside-development',
    });
    expect(redisTls({ REDIS_URL: 'redis://127.0.0.1:6379', EHRFLOW_MODE: 'development' })).toEqual({
      tls: undefined,
      warning: undefined,
    });
  });

  it('rejects a CA with a plaintext URL, and a URL of another scheme without echoing it', () => {
    expect(problemsOf(() => redisTls({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_TLS_CA: CA_PEM }))).toEqual(
      [{ variable: 'REDIS_TLS_CA', reason: 'is set but REDIS_URL is not rediss://' }],
    );
    const problems = problemsOf(() => redisTls({ REDIS_URL: `http://u:${SECRET}@h` }));
    expect(problems.map((p) => p.variable)).toEqual(['REDIS_URL']);
    expect(JSON.stringify(problems)).not.toContain(SECRET);
    expect(problemsOf(() => redisTls({}))).toEqual([{ variable: 'REDIS_URL', reason: 'is required' }]);
  });
});

describe('pgTls', () => {
  const url = `postgres://app:${SECRET}@db.internal:5433/ehr`;

  it('maps sslmode=verify-full to verified TLS and strips sslmode from the connection string', () => {
    const out = pgTls({ DATABASE_URL: `${url}?sslmode=verify-full&application_name=x`, PG_SSL_CA: CA_PEM });
    expect(out.ssl).toEqual({ ca: CA_PEM, rejectUnauthorized: true });
    expect(out.connectionString).toBe(`${url}?application_name=x`);
    expect(out.warning).toBeUndefined();
  });

  it('verifies the host name for require and verify-ca too', () => {
    for (const mode of ['require', 'verify-ca']) {
      expect(pgTls({ DATABASE_URL: `${url}?sslmode=${mode}` }).ssl).toEqual({ rejectUnauthorized: true });
    }
  });

  it('treats no sslmode as plaintext and warns outside development', () => {
    const out = pgTls({ DATABASE_URL: url, EHRFLOW_MODE: 'test' });
    expect(out.ssl).toBeUndefined();
    expect(out.connectionString).toBe(url);
    expect(out.warning).toMatchObject({ client: 'postgres', reason: 'plaintext-outside-development' });
    expect(
      pgTls({ DATABASE_URL: `${url}?sslmode=disable`, EHRFLOW_MODE: 'development' }).warning,
    ).toBeUndefined();
  });

  it('rejects modes that do not verify, SSL parameters node-pg would let override, and a stray CA', () => {
    expect(problemsOf(() => pgTls({ DATABASE_URL: `${url}?sslmode=prefer` }))[0]?.reason).toMatch(
      /does not verify/,
    );
    expect(problemsOf(() => pgTls({ DATABASE_URL: `${url}?sslmode=bogus` }))[0]?.reason).toMatch(
      /must be one of/,
    );
    expect(
      problemsOf(() => pgTls({ DATABASE_URL: `${url}?sslmode=verify-full&sslrootcert=/x` }))[0]?.reason,
    ).toMatch(/sslrootcert/);
    expect(problemsOf(() => pgTls({ DATABASE_URL: url, PG_SSL_CA: CA_PEM }))).toEqual([
      { variable: 'PG_SSL_CA', reason: 'is set but DATABASE_URL has no sslmode=verify-full' },
    ]);
    const problems = problemsOf(() => pgTls({ DATABASE_URL: `mysql://u:${SECRET}@h/db` }));
    expect(JSON.stringify(problems)).not.toContain(SECRET);
  });
});
