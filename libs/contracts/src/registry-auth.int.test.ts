/**
 * The registry client behind TLS with its own CA and HTTP basic auth, the way a production
 * registry is reached: a small HTTPS reverse proxy (a certificate from a throwaway CA, a
 * username/password check) stands in front of the real registry of the local stack. The client
 * reads the CA and the credentials from files (as mounted Secrets) through `registryTransport`.
 * Each refusal — a CA that did not sign the server certificate, wrong credentials, no credentials —
 * names the setting to check and never carries a credential; the right settings get through.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { registryTransport, type Env } from '@ehrflow/config';
import { createTestCa, issueTestCertificate } from '@ehrflow/config/testing';
import { PipelineError } from '@ehrflow/errors';
import { DEFAULT_REGISTRY_URL } from './cli.ts';
import { createRegistryProbe } from './probe.ts';
import { createRegistry } from './registry.ts';

const upstream = new URL(process.env.SCHEMA_REGISTRY_URL ?? DEFAULT_REGISTRY_URL);
const USER = 'ehrflow-registry-client';
const PASSWORD = 'cnry-registry-pw-4d1e';
const WRONG_PASSWORD = 'cnry-wrong-pw-77aa';

const ca = createTestCa('ehrflow registry-test CA');
const otherCa = createTestCa('ehrflow registry-test other CA');
const serverCert = issueTestCertificate(ca, 'server', 'localhost');

/** HTTPS in front of the registry: 401 without the right basic credentials, else a pass-through. */
function startProxy(): Promise<Server> {
  const expected = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const server = createServer({ cert: serverCert.certPem, key: serverCert.keyPem }, (req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, {
        'www-authenticate': 'Basic realm="registry"',
        'content-type': 'application/json',
      });
      res.end(JSON.stringify({ error_code: 401, message: 'Unauthorized' }));
      return;
    }
    // The upstream registry has no auth of its own: the credentials stop at the proxy.
    const headers = { ...req.headers };
    delete headers.authorization;
    delete headers.host;
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function secretFile(dir: string, name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${content}\n`, { mode: 0o600 });
  return file;
}

describe('schema registry over TLS with its own CA and basic auth from files', () => {
  let proxy: Server;
  let url: string;
  let files: { ca: string; otherCa: string; user: string; password: string; wrongPassword: string };

  beforeAll(async () => {
    proxy = await startProxy();
    url = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}${upstream.pathname}`;
    const dir = mkdtempSync(join(tmpdir(), 'ehrflow-registry-secrets-'));
    files = {
      ca: ca.certFile,
      otherCa: otherCa.certFile,
      user: secretFile(dir, 'username', USER),
      password: secretFile(dir, 'password', PASSWORD),
      wrongPassword: secretFile(dir, 'wrong-password', WRONG_PASSWORD),
    };
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  const env = (overrides: Env): Env => ({
    EHRFLOW_MODE: 'production',
    SCHEMA_REGISTRY_URL: url,
    SCHEMA_REGISTRY_CA: files.ca,
    SCHEMA_REGISTRY_USERNAME_FILE: files.user,
    SCHEMA_REGISTRY_PASSWORD_FILE: files.password,
    ...overrides,
  });

  /** The probe's refusal, checked to be a PipelineError that carries no credential. */
  const refusal = async (e: Env): Promise<PipelineError> => {
    const probe = createRegistryProbe({ url, timeoutMs: 3_000, transport: registryTransport(e) });
    try {
      await probe.probe();
    } catch (err) {
      expect(err).toBeInstanceOf(PipelineError);
      const everything = JSON.stringify({
        message: (err as Error).message,
        context: (err as PipelineError).context,
      });
      for (const secret of [PASSWORD, WRONG_PASSWORD]) expect(everything).not.toContain(secret);
      return err as PipelineError;
    } finally {
      await probe.close();
    }
    throw new Error('expected the registry to refuse');
  };

  it('gets through with the registry CA and the credentials from files, and lists the subjects', async () => {
    const registry = createRegistry({ url, timeoutMs: 5_000, transport: registryTransport(env({})) });
    try {
      expect((await registry.subjects()).length).toBeGreaterThan(0);
    } finally {
      await registry.close();
    }
  });

  it('by default reads the CA and the credentials from the process environment', async () => {
    // A deployment sets the URL beside the CA: a CA with an http:// URL is a configuration error.
    vi.stubEnv('SCHEMA_REGISTRY_URL', url);
    vi.stubEnv('SCHEMA_REGISTRY_CA', files.ca);
    vi.stubEnv('SCHEMA_REGISTRY_USERNAME_FILE', files.user);
    vi.stubEnv('SCHEMA_REGISTRY_PASSWORD_FILE', files.password);
    try {
      const probe = createRegistryProbe({ url, timeoutMs: 3_000 });
      await expect(probe.probe()).resolves.toBeUndefined();
      await probe.close();
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('refuses a server whose certificate another CA signed, naming SCHEMA_REGISTRY_CA', async () => {
    const err = await refusal(env({ SCHEMA_REGISTRY_CA: files.otherCa }));
    expect(err.code).toBe('REGISTRY_UNAVAILABLE');
    expect(err.message).toMatch(/certificate is not trusted; check SCHEMA_REGISTRY_CA/);
  });

  it('is refused with wrong credentials, naming SCHEMA_REGISTRY_USERNAME and _PASSWORD', async () => {
    const err = await refusal(env({ SCHEMA_REGISTRY_PASSWORD_FILE: files.wrongPassword }));
    expect(err.code).toBe('REGISTRY_REJECTED');
    expect(err.message).toMatch(
      /refused the credentials \(401\).*SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD/,
    );
  });

  it('is refused without credentials, saying which settings to give', async () => {
    const err = await refusal(
      env({ SCHEMA_REGISTRY_USERNAME_FILE: undefined, SCHEMA_REGISTRY_PASSWORD_FILE: undefined }),
    );
    expect(err.code).toBe('REGISTRY_REJECTED');
    expect(err.message).toMatch(
      /requires credentials \(401\).*set SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD/,
    );
  });
});
