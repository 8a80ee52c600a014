import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type Env } from './env.ts';
import { registryTransport } from './registry-transport.ts';
import { createTestCa } from './testing/test-pki.ts';

const SECRET = 'cnry-registry-secret-51c0';
const ca = createTestCa('ehrflow registry unit-test CA');

function tempFile(content: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ehrflow-reg-')), 'secret');
  writeFileSync(file, content);
  return file;
}

function problemsOf(env: Env): ConfigError['problems'] {
  try {
    registryTransport(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('registryTransport', () => {
  it('reads the CA and the credentials from files', () => {
    const out = registryTransport({
      SCHEMA_REGISTRY_URL: 'https://registry.example.internal/apis/ccompat/v7',
      SCHEMA_REGISTRY_CA: ca.certFile,
      SCHEMA_REGISTRY_USERNAME_FILE: tempFile('svc\n'),
      SCHEMA_REGISTRY_PASSWORD_FILE: tempFile(`${SECRET}\n`),
    });
    expect(out).toEqual({
      ca: ca.certPem,
      basicAuth: { username: 'svc', password: SECRET },
      warning: undefined,
    });
  });

  it('is empty when nothing is set, and warns on credentials over http:// outside development', () => {
    expect(registryTransport({ SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081' })).toEqual({
      warning: undefined,
    });
    const plain = {
      SCHEMA_REGISTRY_URL: 'http://r:8081',
      SCHEMA_REGISTRY_USERNAME: 'svc',
      SCHEMA_REGISTRY_PASSWORD: SECRET,
    };
    expect(registryTransport(plain).warning?.reason).toBe('credentials-over-plaintext');
    expect(registryTransport(plain).warning?.message).not.toContain(SECRET);
    expect(registryTransport({ ...plain, EHRFLOW_MODE: 'development' }).warning).toBeUndefined();
  });

  it('lists every inconsistency by variable name, never by value', () => {
    const problems = problemsOf({
      SCHEMA_REGISTRY_URL: `http://svc:${SECRET}@r:8081`,
      SCHEMA_REGISTRY_CA: tempFile('not a certificate'),
      SCHEMA_REGISTRY_USERNAME: 'svc',
    });
    expect(problems).toEqual([
      { variable: 'SCHEMA_REGISTRY_PASSWORD', reason: 'is required when SCHEMA_REGISTRY_USERNAME is set' },
      {
        variable: 'SCHEMA_REGISTRY_USERNAME',
        reason: 'is set but SCHEMA_REGISTRY_URL carries credentials too; set only one',
      },
      { variable: 'SCHEMA_REGISTRY_CA', reason: 'is set but SCHEMA_REGISTRY_URL is not https://' },
      { variable: 'SCHEMA_REGISTRY_CA', reason: 'is not a PEM certificate' },
    ]);
    expect(JSON.stringify(problems)).not.toContain(SECRET);
    expect(problemsOf({ SCHEMA_REGISTRY_PASSWORD_FILE: '/nonexistent/registry/pw' })).toEqual([
      { variable: 'SCHEMA_REGISTRY_PASSWORD_FILE', reason: 'cannot read the file it names (ENOENT)' },
    ]);
  });
});
