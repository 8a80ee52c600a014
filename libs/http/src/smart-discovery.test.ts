import { describe, expect, it } from 'vitest';
import {
  discoverSmartConfiguration,
  SmartDiscoveryError,
  smartConfigurationUrl,
  type DiscoveryFetch,
} from './smart-discovery.ts';

const BASE = 'https://ehr.example/site-a/fhir';

function answering(status: number, body: unknown): { fetch: DiscoveryFetch; urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    fetch: (url) => {
      urls.push(url);
      return Promise.resolve({ status, body: typeof body === 'string' ? body : JSON.stringify(body) });
    },
  };
}

async function failureOf(promise: Promise<unknown>): Promise<SmartDiscoveryError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof SmartDiscoveryError))
    throw new Error(`expected a SmartDiscoveryError, got ${String(err)}`);
  return err;
}

describe('discoverSmartConfiguration', () => {
  it('reads the token endpoint and what it supports from <base>/.well-known/smart-configuration', async () => {
    const server = answering(200, {
      token_endpoint: 'https://ehr.example/site-a/auth/token',
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 7],
    });
    const config = await discoverSmartConfiguration(`${BASE}/`, { fetch: server.fetch });
    expect(server.urls).toEqual([`${BASE}/.well-known/smart-configuration`]);
    expect(config).toEqual({
      tokenEndpoint: 'https://ehr.example/site-a/auth/token',
      authMethods: ['private_key_jwt'],
      signingAlgs: ['RS384', 'ES384'],
    });
  });

  it('a 404 is missing, and not retryable', async () => {
    const err = await failureOf(
      discoverSmartConfiguration(BASE, { fetch: answering(404, 'Not Found').fetch }),
    );
    expect(err.problem).toBe('missing');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain(smartConfigurationUrl(BASE));
  });

  it.each([
    ['not JSON', 200, '<html>login</html>', /not valid JSON/],
    ['not an object', 200, ['https://x'], /not a JSON object/],
    ['no token endpoint', 200, { issuer: 'x' }, /has no token_endpoint/],
    ['a relative endpoint', 200, { token_endpoint: '/auth/token' }, /not an absolute http\(s\) URL/],
    ['a non-string endpoint', 200, { token_endpoint: 42 }, /not an absolute http\(s\) URL/],
    ['a redirect', 302, '', /HTTP 302 \(redirects are not followed\)/],
    ['a 403', 403, '', /HTTP 403/],
  ])('%s is malformed, with a message that does not echo the body', async (_name, status, body, why) => {
    const err = await failureOf(discoverSmartConfiguration(BASE, { fetch: answering(status, body).fetch }));
    expect(err.problem).toBe('malformed');
    expect(err.code).toBe('HTTP_PERMANENT');
    expect(err.message).toMatch(why);
    expect(err.message).not.toContain('login');
  });

  it('5xx and network failures are unreachable and retryable', async () => {
    const down = await failureOf(discoverSmartConfiguration(BASE, { fetch: answering(503, '').fetch }));
    expect([down.problem, down.retryable]).toEqual(['unreachable', true]);
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const cut = await failureOf(discoverSmartConfiguration(BASE, { fetch: () => Promise.reject(reset) }));
    expect([cut.problem, cut.code]).toEqual(['unreachable', 'HTTP_TRANSIENT']);
    expect(cut.message).toContain('ECONNRESET');
  });

  it('a bug in the fetch is not disguised as a network failure', async () => {
    await expect(
      discoverSmartConfiguration(BASE, { fetch: () => Promise.reject(new TypeError('bug')) }),
    ).rejects.toThrow(TypeError);
  });
});
