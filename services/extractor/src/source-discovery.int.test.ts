import { ConfigError } from '@ehrflow/config';
import { createSimulator, type Simulator } from '@ehrflow/ehr-sim';
import { silentLogger } from '@ehrflow/http';
import { TEST_RETRY_POLICY } from '@ehrflow/resilience';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTokenUrls } from './source-discovery.ts';
import type { DeclaredSource } from './sources.ts';

// SMART discovery over real HTTP against the simulator's `.well-known/smart-configuration`.
describe('resolveTokenUrls against the simulator', () => {
  let sim: Simulator;
  let origin: string;
  beforeAll(async () => {
    sim = createSimulator({ seed: 'discovery', patientsPerSite: 1, sites: ['site-a'] });
    origin = await sim.start(0);
  });
  afterAll(async () => {
    await sim.stop();
  });

  const source = (id: string, baseUrl: string): DeclaredSource => ({
    id,
    baseUrl,
    clientId: 'c',
    auth: { kind: 'secret', secret: 's' },
    scopes: ['system/*.read'],
    rateLimitPerMinute: 60,
    headroom: 0.6,
    maxConcurrency: 1,
    resourceTypes: ['Flag'],
    exportLevel: 'system',
    pageSize: 10,
    tokenSkewMs: 0,
    connectTimeoutMs: 1_000,
    headersTimeoutMs: 1_000,
    bodyIdleTimeoutMs: 1_000,
    retryAfterCapMs: 1_000,
  });

  it('finds the token endpoint the server publishes', async () => {
    const [resolved] = await resolveTokenUrls([source('a', sim.fhirBase('site-a'))], {
      retryPolicy: TEST_RETRY_POLICY,
      logger: silentLogger,
    });
    expect(resolved?.tokenUrl).toBe(sim.tokenUrl('site-a'));
  });

  it('names the source and the URL when the server publishes none', async () => {
    const err = await resolveTokenUrls([source('b', `${origin}/no-such-ehr/fhir`)], {
      retryPolicy: TEST_RETRY_POLICY,
      logger: silentLogger,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      {
        variable: 'source b: tokenUrl',
        reason: expect.stringContaining(
          `${origin}/no-such-ehr/fhir/.well-known/smart-configuration answered HTTP 404`,
        ) as unknown,
      },
    ]);
  });
});
