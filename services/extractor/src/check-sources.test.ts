import { PipelineError } from '@ehrflow/errors';
import { TEST_RETRY_POLICY } from '@ehrflow/resilience';
import { describe, expect, it } from 'vitest';
import { checkSources, type CheckDeps } from './check-sources.ts';
import type { DeclaredSource } from './sources.ts';

const source: DeclaredSource = {
  id: 'site-a',
  baseUrl: 'https://ehr.example/a/fhir/',
  tokenUrl: 'https://ehr.example/a/token',
  clientId: 'c1',
  auth: { kind: 'jwt', privateKeyPem: 'pem', alg: 'ES384', kid: 'k1' },
  scopes: ['system/*.read'],
  rateLimitPerMinute: 600,
  headroom: 0.6,
  maxConcurrency: 4,
  resourceTypes: ['Patient'],
  exportLevel: 'system',
  pageSize: 200,
  tokenSkewMs: 0,
  connectTimeoutMs: 1,
  headersTimeoutMs: 1,
  bodyIdleTimeoutMs: 1,
  retryAfterCapMs: 1_000,
};

const capability = (fhirVersion: string, exportOp = true): string =>
  JSON.stringify({
    resourceType: 'CapabilityStatement',
    fhirVersion,
    rest: [{ mode: 'server', operation: exportOp ? [{ name: 'export', definition: 'x' }] : [] }],
  });

function deps(overrides: Partial<CheckDeps> = {}): CheckDeps & { fetched: string[] } {
  const fetched: string[] = [];
  return {
    fetched,
    retryPolicy: TEST_RETRY_POLICY,
    requestToken: () => Promise.resolve('token-1'),
    fetchMetadata: (url, token) => {
      fetched.push(`${url} ${token}`);
      return Promise.resolve({ status: 200, body: capability('4.0.1') });
    },
    ...overrides,
  };
}

describe('checkSources', () => {
  it('passes a source whose token and R4 metadata are fine, fetching metadata with the token', async () => {
    const d = deps();
    const [check] = await checkSources([source], d);
    expect(check?.ok).toBe(true);
    expect(check?.lines).toEqual([
      'source site-a: token endpoint https://ehr.example/a/token (configured)',
      'source site-a: token issued for client c1 (ES384 assertion)',
      'source site-a: FHIR 4.0.1; $export listed',
    ]);
    expect(d.fetched).toEqual(['https://ehr.example/a/fhir/metadata token-1']);
  });

  it('reports a refused client with the OAuth error code and what to check, never the credentials', async () => {
    const refused = new PipelineError('AUTH_REJECTED', 'the token endpoint rejected the client credentials', {
      context: { status: 401, oauthError: 'invalid_client' },
    });
    const [check] = await checkSources([source], deps({ requestToken: () => Promise.reject(refused) }));
    expect(check?.ok).toBe(false);
    expect(check?.lines[1]).toMatch(
      /^source site-a: FAILED token request: AUTH_REJECTED, status 401, oauthError invalid_client \(check the client id/,
    );
    expect(check?.lines.join('\n')).not.toContain('pem');
  });

  it('fails a server that is not R4, or answers no CapabilityStatement; a missing $export is only shown', async () => {
    const stu3 = await checkSources(
      [source],
      deps({ fetchMetadata: () => Promise.resolve({ status: 200, body: capability('3.0.2') }) }),
    );
    expect(stu3[0]?.ok).toBe(false);
    expect(stu3[0]?.lines[2]).toBe('source site-a: FAILED FHIR 3.0.2 (R4, 4.0.x, expected); $export listed');
    const html = await checkSources(
      [source],
      deps({ fetchMetadata: () => Promise.resolve({ status: 200, body: '<html>' }) }),
    );
    expect(html[0]?.lines[2]).toBe(
      'source site-a: FAILED https://ehr.example/a/fhir/metadata answered HTTP 200 without a CapabilityStatement',
    );
    const noExport = await checkSources(
      [source],
      deps({ fetchMetadata: () => Promise.resolve({ status: 200, body: capability('4.0.1', false) }) }),
    );
    expect(noExport[0]?.ok).toBe(true);
    expect(noExport[0]?.lines[2]).toMatch(/\$export not listed/);
  });

  it('names the network failure of the metadata request by its code', async () => {
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const [check] = await checkSources([source], deps({ fetchMetadata: () => Promise.reject(reset) }));
    expect(check?.lines[2]).toBe(
      'source site-a: FAILED https://ehr.example/a/fhir/metadata: HTTP_TRANSIENT, errorCode ECONNRESET',
    );
  });
});
