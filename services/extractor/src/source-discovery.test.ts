import { ConfigError } from '@ehrflow/config';
import { SmartDiscoveryError, type SmartConfiguration } from '@ehrflow/http';
import { TEST_RETRY_POLICY } from '@ehrflow/resilience';
import { describe, expect, it } from 'vitest';
import { resolveTokenUrls } from './source-discovery.ts';
import type { DeclaredSource } from './sources.ts';

const base: DeclaredSource = {
  id: 'site-a',
  baseUrl: 'https://ehr.example/a/fhir',
  clientId: 'c1',
  auth: { kind: 'jwt', privateKeyPem: 'pem', alg: 'ES384' },
  scopes: ['system/*.read'],
  rateLimitPerMinute: 600,
  headroom: 0.6,
  maxConcurrency: 4,
  resourceTypes: ['Patient'],
  exportLevel: 'system',
  pageSize: 200,
  tokenSkewMs: 30_000,
  connectTimeoutMs: 1,
  headersTimeoutMs: 1,
  bodyIdleTimeoutMs: 1,
  retryAfterCapMs: 1_000,
};

function recordingLogger(): {
  warnings: string[];
  logger: { debug(): void; info(): void; warn(o: object, m: string): void };
} {
  const warnings: string[] = [];
  return {
    warnings,
    logger: { debug: () => undefined, info: () => undefined, warn: (_o, m) => warnings.push(m) },
  };
}

const found = (tokenEndpoint: string, signingAlgs: string[] = []): SmartConfiguration => ({
  tokenEndpoint,
  authMethods: [],
  signingAlgs,
});

describe('resolveTokenUrls', () => {
  it('keeps a configured token URL without asking, and fills in a missing one from discovery', async () => {
    const asked: string[] = [];
    const sources = await resolveTokenUrls(
      [
        { ...base, tokenUrl: 'https://ehr.example/a/token' },
        { ...base, id: 'site-b', baseUrl: 'https://ehr.example/b/fhir' },
      ],
      {
        discover: (url) => {
          asked.push(url);
          return Promise.resolve(found('https://ehr.example/b/auth/token'));
        },
        retryPolicy: TEST_RETRY_POLICY,
        logger: recordingLogger().logger,
      },
    );
    expect(asked).toEqual(['https://ehr.example/b/fhir']);
    expect(sources.map((s) => s.tokenUrl)).toEqual([
      'https://ehr.example/a/token',
      'https://ehr.example/b/auth/token',
    ]);
  });

  it('retries an unreachable document, and warns when the configured algorithm is not advertised', async () => {
    let calls = 0;
    const { warnings, logger } = recordingLogger();
    const [source] = await resolveTokenUrls([base], {
      discover: () => {
        calls++;
        if (calls < 3)
          return Promise.reject(
            new SmartDiscoveryError('unreachable', 'x answered HTTP 503', { url: 'x', status: 503 }),
          );
        return Promise.resolve(found('https://ehr.example/a/auth/token', ['RS384']));
      },
      retryPolicy: TEST_RETRY_POLICY,
      logger,
    });
    expect(calls).toBe(3);
    expect(source?.tokenUrl).toBe('https://ehr.example/a/auth/token');
    expect(warnings).toEqual(['the SMART configuration does not list the configured signing algorithm']);
  });

  it('lists every source that cannot be completed in one ConfigError, missing and malformed alike', async () => {
    const err = await resolveTokenUrls([base, { ...base, id: 'site-b' }], {
      discover: (url) =>
        Promise.reject(
          new SmartDiscoveryError(url.includes('/a/') ? 'missing' : 'malformed', 'doc answered HTTP 404', {
            url,
            status: 404,
          }),
        ),
      retryPolicy: TEST_RETRY_POLICY,
      logger: recordingLogger().logger,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.map((p) => p.variable);
    expect(problems).toEqual(['source site-a: tokenUrl', 'source site-b: tokenUrl']);
    expect((err as ConfigError).problems[0]?.reason).toMatch(
      /^is not in the sources file and SMART discovery failed: doc answered HTTP 404; set tokenUrl/,
    );
  });
});
