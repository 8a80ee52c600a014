import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { JWT_BEARER } from './auth.ts';
import { createSimulator, type Simulator } from './simulator.ts';
import { fakeClock, SECRET_CLIENT } from './testing/export.ts';

// app.inject sends Host: localhost:80, so that is the token URL an assertion must name.
const TOKEN_URL = 'http://localhost:80/site-a/auth/token';

interface KeyedClient {
  clientId: string;
  privateKey: CryptoKey;
  jwk: JWK;
  alg: 'RS384' | 'ES384';
}

async function keyedClient(alg: 'RS384' | 'ES384'): Promise<KeyedClient> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: `${alg}-key`, alg };
  return { clientId: `client-${alg.toLowerCase()}`, privateKey, jwk, alg };
}

async function assertion(
  client: KeyedClient,
  overrides: { aud?: string; exp?: string | number; jti?: string; iss?: string; now?: number } = {},
): Promise<string> {
  const now = overrides.now ?? Date.now();
  return new SignJWT({})
    .setProtectedHeader({ alg: client.alg, kid: client.jwk.kid, typ: 'JWT' })
    .setIssuer(overrides.iss ?? client.clientId)
    .setSubject(client.clientId)
    .setAudience(overrides.aud ?? TOKEN_URL)
    .setIssuedAt(Math.floor(now / 1000))
    .setExpirationTime(overrides.exp ?? Math.floor(now / 1000) + 240)
    .setJti(overrides.jti ?? randomUUID())
    .sign(client.privateKey);
}

function tokenRequest(sim: Simulator, form: Record<string, string>, headers: Record<string, string> = {}) {
  return sim.app.inject({
    method: 'POST',
    url: '/site-a/auth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(form).toString(),
  });
}

const assertionForm = (jwt: string): Record<string, string> => ({
  grant_type: 'client_credentials',
  scope: 'system/*.read',
  client_assertion_type: JWT_BEARER,
  client_assertion: jwt,
});

describe('SMART Backend Services token endpoint', () => {
  let rsa: KeyedClient;
  let ec: KeyedClient;
  let sim: Simulator;

  beforeAll(async () => {
    rsa = await keyedClient('RS384');
    ec = await keyedClient('ES384');
  });

  const make = (extra: Parameters<typeof createSimulator>[0] = {}): Simulator =>
    createSimulator({
      patientsPerSite: 5,
      clients: [
        { clientId: rsa.clientId, jwks: { keys: [rsa.jwk] } },
        { clientId: ec.clientId, jwks: { keys: [ec.jwk] } },
        SECRET_CLIENT,
      ],
      ...extra,
    });

  afterEach(async () => {
    await sim.stop();
  });

  for (const alg of ['RS384', 'ES384'] as const) {
    it(`issues a token for a ${alg} client assertion, usable on the FHIR API`, async () => {
      sim = make();
      const client = alg === 'RS384' ? rsa : ec;
      const res = await tokenRequest(sim, assertionForm(await assertion(client)));
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body).toEqual({
        access_token: expect.any(String),
        token_type: 'bearer',
        expires_in: 300,
        scope: 'system/*.read',
      });
      expect(res.headers['cache-control']).toBe('no-store');
      const read = await sim.app.inject({
        url: '/site-a/fhir/Patient/pat-0',
        headers: { authorization: `Bearer ${body.access_token}` },
      });
      expect(read.statusCode).toBe(200);
      expect(sim.counters().tokensIssued).toBe(1);
    });
  }

  it('rejects a signature from a key the client did not register (401 invalid_client)', async () => {
    sim = make();
    const impostor = { ...(await keyedClient('RS384')), clientId: rsa.clientId };
    const res = await tokenRequest(sim, assertionForm(await assertion(impostor)));
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('invalid_client');
    expect(sim.counters().unauthorized).toBe(1);
  });

  it('rejects an unknown client and iss != sub (401 invalid_client)', async () => {
    sim = make();
    const stranger = { ...rsa, clientId: 'nobody' };
    expect((await tokenRequest(sim, assertionForm(await assertion(stranger)))).json().error).toBe(
      'invalid_client',
    );
    const res = await tokenRequest(sim, assertionForm(await assertion(rsa, { iss: 'someone-else' })));
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toBe('invalid_client');
  });

  it('checks aud, exp within 5 minutes, expiry and jti replay (400 invalid_grant)', async () => {
    sim = make();
    const wrongAud = await tokenRequest(
      sim,
      assertionForm(await assertion(rsa, { aud: 'http://elsewhere/token' })),
    );
    expect([wrongAud.statusCode, wrongAud.json().error]).toEqual([400, 'invalid_grant']);

    const tooLong = await tokenRequest(
      sim,
      assertionForm(await assertion(rsa, { exp: Math.floor(Date.now() / 1000) + 3600 })),
    );
    expect([tooLong.statusCode, tooLong.json().error]).toEqual([400, 'invalid_grant']);

    const stale = await tokenRequest(sim, assertionForm(await assertion(rsa, { now: Date.now() - 600_000 })));
    expect([stale.statusCode, stale.json().error]).toEqual([400, 'invalid_grant']);

    const jwt = await assertion(rsa);
    expect((await tokenRequest(sim, assertionForm(jwt))).statusCode).toBe(200);
    const replay = await tokenRequest(sim, assertionForm(jwt));
    expect([replay.statusCode, replay.json().error]).toEqual([400, 'invalid_grant']);
  });

  it('validates grant_type and assertion type', async () => {
    sim = make();
    const noGrant = await tokenRequest(sim, {});
    expect([noGrant.statusCode, noGrant.json().error]).toEqual([400, 'invalid_request']);
    const password = await tokenRequest(sim, { grant_type: 'password' });
    expect([password.statusCode, password.json().error]).toEqual([400, 'unsupported_grant_type']);
    const badType = await tokenRequest(sim, {
      ...assertionForm(await assertion(rsa)),
      client_assertion_type: 'urn:other',
    });
    expect([badType.statusCode, badType.json().error]).toEqual([400, 'invalid_request']);
    const userScope = await tokenRequest(sim, {
      ...assertionForm(await assertion(rsa)),
      scope: 'user/*.read',
    });
    expect([userScope.statusCode, userScope.json().error]).toEqual([400, 'invalid_scope']);
  });

  it('supports the client-secret alternative via HTTP Basic and form fields', async () => {
    sim = make();
    const basic = `Basic ${Buffer.from(`${SECRET_CLIENT.clientId}:${SECRET_CLIENT.secret}`).toString('base64')}`;
    const viaBasic = await tokenRequest(sim, { grant_type: 'client_credentials' }, { authorization: basic });
    expect(viaBasic.statusCode).toBe(200);
    const viaForm = await tokenRequest(sim, {
      grant_type: 'client_credentials',
      client_id: SECRET_CLIENT.clientId,
      client_secret: SECRET_CLIENT.secret,
    });
    expect(viaForm.statusCode).toBe(200);
    const wrong = `Basic ${Buffer.from(`${SECRET_CLIENT.clientId}:not-it`).toString('base64')}`;
    const refused = await tokenRequest(sim, { grant_type: 'client_credentials' }, { authorization: wrong });
    expect([refused.statusCode, refused.json().error]).toEqual([401, 'invalid_client']);
    expect(refused.headers['www-authenticate']).toMatch(/^Basic/);
  });

  it('revocation refuses new tokens and invalidates issued ones', async () => {
    sim = make();
    const res = await tokenRequest(sim, assertionForm(await assertion(ec)));
    const token = res.json().access_token as string;
    sim.revoke(ec.clientId);
    const use = await sim.app.inject({
      url: '/site-a/fhir/Patient',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(use.statusCode).toBe(401);
    expect(use.headers['www-authenticate']).toContain('invalid_token');
    const again = await tokenRequest(sim, assertionForm(await assertion(ec)));
    expect([again.statusCode, again.json().error]).toEqual([401, 'invalid_client']);
  });

  it('revokes through the admin API, and re-registering restores the client', async () => {
    sim = make();
    const form = {
      grant_type: 'client_credentials',
      client_id: SECRET_CLIENT.clientId,
      client_secret: SECRET_CLIENT.secret,
    };
    const token = (await tokenRequest(sim, form)).json().access_token as string;
    const revoke = await sim.app.inject({
      method: 'POST',
      url: '/_admin/revoke',
      payload: { clientId: SECRET_CLIENT.clientId },
    });
    expect(revoke.statusCode).toBe(204);
    expect(
      (await sim.app.inject({ url: '/site-a/fhir/Patient', headers: { authorization: `Bearer ${token}` } }))
        .statusCode,
    ).toBe(401);
    expect((await tokenRequest(sim, form)).json().error).toBe('invalid_client');
    const register = await sim.app.inject({ method: 'POST', url: '/_admin/clients', payload: SECRET_CLIENT });
    expect(register.statusCode).toBe(201);
    expect((await tokenRequest(sim, form)).statusCode).toBe(200);
  });

  it('registers a JWKS client through the admin API', async () => {
    sim = make({ clients: [] });
    expect((await tokenRequest(sim, assertionForm(await assertion(rsa)))).statusCode).toBe(401);
    const res = await sim.app.inject({
      method: 'POST',
      url: '/_admin/clients',
      payload: { clientId: rsa.clientId, jwks: { keys: [rsa.jwk] } },
    });
    expect(res.statusCode).toBe(201);
    expect((await tokenRequest(sim, assertionForm(await assertion(rsa)))).statusCode).toBe(200);
    const bad = await sim.app.inject({ method: 'POST', url: '/_admin/clients', payload: { clientId: 'x' } });
    expect(bad.statusCode).toBe(400);
  });

  it('binds a token to its site', async () => {
    sim = make();
    const form = {
      grant_type: 'client_credentials',
      client_id: SECRET_CLIENT.clientId,
      client_secret: SECRET_CLIENT.secret,
    };
    const token = (await tokenRequest(sim, form)).json().access_token as string;
    const other = await sim.app.inject({
      url: '/site-b/fhir/Patient',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(other.statusCode).toBe(401);
  });

  it('expires tokens after their lifetime (injected clock)', async () => {
    const clock = fakeClock();
    sim = make({ tokenLifetimeSeconds: 1, now: clock.now });
    const form = {
      grant_type: 'client_credentials',
      client_id: SECRET_CLIENT.clientId,
      client_secret: SECRET_CLIENT.secret,
    };
    const res = await tokenRequest(sim, form);
    expect(res.json().expires_in).toBe(1);
    const headers = { authorization: `Bearer ${res.json().access_token}` };
    expect((await sim.app.inject({ url: '/site-a/fhir/Patient', headers })).statusCode).toBe(200);
    clock.advance(999);
    expect((await sim.app.inject({ url: '/site-a/fhir/Patient', headers })).statusCode).toBe(200);
    clock.advance(1);
    const expired = await sim.app.inject({ url: '/site-a/fhir/Patient', headers });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().issue[0].diagnostics).toBe('access token expired');
  });

  it('expires a 1-second token on the real clock', async () => {
    sim = make({ tokenLifetimeSeconds: 1 });
    const form = {
      grant_type: 'client_credentials',
      client_id: SECRET_CLIENT.clientId,
      client_secret: SECRET_CLIENT.secret,
    };
    const headers = { authorization: `Bearer ${(await tokenRequest(sim, form)).json().access_token}` };
    expect((await sim.app.inject({ url: '/site-a/fhir/Patient?_count=1', headers })).statusCode).toBe(200);
    // Bounded wait on the observable condition: the token stops working within its lifetime plus slack.
    const deadline = Date.now() + 5000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = (await sim.app.inject({ url: '/site-a/fhir/Patient?_count=1', headers })).statusCode;
    }
    expect(status).toBe(401);
  });
});
