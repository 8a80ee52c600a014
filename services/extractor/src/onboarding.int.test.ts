import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSimulator, type Simulator } from '@ehrflow/ehr-sim';
import { createTokenRequester, silentLogger } from '@ehrflow/http';
import { TEST_RETRY_POLICY } from '@ehrflow/resilience';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSources } from './check-sources.ts';
import { generateKeys, type KeysRequest } from './keys-command.ts';
import { resolveTokenUrls } from './source-discovery.ts';
import { loadSources } from './sources.ts';

// The onboarding path of docs/onboarding-a-source.md against the simulator over HTTP: keys
// written by `keys generate`, the JWKS registered at the EHR, a sources file without tokenUrl,
// discovery, and a token the EHR issues for the signed client assertion.
describe('onboarding a source against the simulator', () => {
  let sim: Simulator;
  let dir: string;
  const setups: (KeysRequest & { clientId: string })[] = [
    { alg: 'RS384', format: 'pem', name: 'rs-pem', clientId: 'ehrflow-rs-pem', outDir: '', force: false },
    { alg: 'ES384', format: 'jwk', name: 'es-jwk', clientId: 'ehrflow-es-jwk', outDir: '', force: false },
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehrflow-onboarding-'));
    sim = createSimulator({ seed: 'onboarding', patientsPerSite: 1, sites: ['site-a'] });
    const sources = [];
    for (const setup of setups) {
      const keys = await generateKeys({ ...setup, outDir: dir });
      const jwks = JSON.parse(await readFile(join(dir, keys.jwksFile), 'utf8')) as { keys: object[] };
      sim.registerClient({ clientId: setup.clientId, jwks });
      sources.push({
        id: setup.name,
        clientId: setup.clientId,
        // No kid for the JWK key: the one inside the JWK is used.
        auth: {
          method: 'jwt',
          privateKeyFile: keys.privateKeyFile,
          alg: setup.alg,
          ...(setup.format === 'pem' ? { kid: keys.kid } : {}),
        },
        rateLimitPerMinute: 60,
        resourceTypes: ['Patient', 'Flag'],
      });
    }
    const origin = await sim.start(0);
    const file = join(dir, 'sources.json');
    await writeFile(
      file,
      JSON.stringify({ sources: sources.map((s) => ({ ...s, baseUrl: `${origin}/site-a/fhir` })) }),
    );
    // A key the EHR does not know: same client, unregistered key.
    await generateKeys({ alg: 'ES384', format: 'pem', name: 'stranger', outDir: dir, force: false });
  });
  afterAll(async () => {
    await sim.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('obtains a token with each generated key through the discovered token endpoint', async () => {
    const sources = await resolveTokenUrls(loadSources(join(dir, 'sources.json')), {
      retryPolicy: TEST_RETRY_POLICY,
      logger: silentLogger,
    });
    expect(sources.map((s) => s.tokenUrl)).toEqual([sim.tokenUrl('site-a'), sim.tokenUrl('site-a')]);
    for (const source of sources) {
      const requestToken = createTokenRequester({
        sourceId: source.id,
        tokenUrl: source.tokenUrl,
        clientId: source.clientId,
        auth: source.auth,
        scopes: source.scopes,
      });
      const issued = await requestToken();
      expect(issued.token.length).toBeGreaterThan(10);
    }
    expect(sim.counters().tokensIssued).toBe(2);
  });

  it('check-sources passes both sources: discovery, token, R4 metadata with $export', async () => {
    const checks = await checkSources(loadSources(join(dir, 'sources.json')), {
      retryPolicy: TEST_RETRY_POLICY,
    });
    expect(checks.map((c) => [c.sourceId, c.ok])).toEqual([
      ['rs-pem', true],
      ['es-jwk', true],
    ]);
    expect(checks[1]?.lines).toEqual([
      `source es-jwk: token endpoint ${sim.tokenUrl('site-a')} (found by SMART discovery)`,
      'source es-jwk: token issued for client ehrflow-es-jwk (ES384 assertion)',
      'source es-jwk: FHIR 4.0.1; $export listed',
    ]);
  });

  it('is refused (AUTH_REJECTED) when signing with a key the EHR does not have', async () => {
    const stranger = await readFile(join(dir, 'stranger.private.pem'), 'utf8');
    const requestToken = createTokenRequester({
      sourceId: 'stranger',
      tokenUrl: sim.tokenUrl('site-a'),
      clientId: 'ehrflow-es-jwk',
      auth: { kind: 'jwt', privateKeyPem: stranger, alg: 'ES384' },
      scopes: ['system/*.read'],
    });
    await expect(requestToken()).rejects.toMatchObject({ code: 'AUTH_REJECTED' });
  });
});
