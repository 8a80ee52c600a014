import { PipelineError } from '@ehrflow/errors';
import { decodeProtectedHeader, exportPKCS8, exportSPKI, generateKeyPair, importSPKI, jwtVerify } from 'jose';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from './testing/local-server.ts';
import { TOKEN_URL, fakeFetch, ok, secretOptions } from './testing/token-fakes.ts';
import { createTokenRequester, type TokenResponse } from './token-endpoint.ts';

const jwtPayload = (jwt: string): Record<string, unknown> =>
  JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

describe('createTokenRequester', () => {
  let privateKeyPem: string;
  let publicKeyPem: string;

  beforeAll(async () => {
    const pair = await generateKeyPair('RS384', { extractable: true });
    privateKeyPem = await exportPKCS8(pair.privateKey);
    publicKeyPem = await exportSPKI(pair.publicKey);
  });

  it('signs a SMART client assertion (iss = sub = client id, aud = token URL, jti, exp ≤ 5 min)', async () => {
    const nowMs = Date.UTC(2025, 0, 1, 12);
    const { fetch, requests } = fakeFetch(() => ok('tok-1', 600));
    const requestToken = createTokenRequester({
      sourceId: 'epic',
      tokenUrl: TOKEN_URL,
      clientId: 'backend-client',
      auth: { kind: 'jwt', privateKeyPem, alg: 'RS384', kid: 'key-2025' },
      scopes: ['system/*.rs'],
      fetch,
      now: () => nowMs,
    });
    expect(await requestToken()).toEqual({ token: 'tok-1', issuedAt: nowMs, expiresAt: nowMs + 600_000 });
    const form = new URLSearchParams(requests[0]!.body);
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('scope')).toBe('system/*.rs');
    expect(form.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    const assertion = form.get('client_assertion')!;
    expect(decodeProtectedHeader(assertion)).toMatchObject({ alg: 'RS384', kid: 'key-2025', typ: 'JWT' });
    const { payload } = await jwtVerify(assertion, await importSPKI(publicKeyPem, 'RS384'), {
      issuer: 'backend-client',
      subject: 'backend-client',
      audience: TOKEN_URL,
      currentDate: new Date(nowMs),
    });
    expect(typeof payload.jti).toBe('string');
    expect(payload.exp! - Math.floor(nowMs / 1000)).toBeLessThanOrEqual(300);
    expect(requests[0]!.headers.authorization).toBeUndefined();
  });

  it('uses a fresh jti for every assertion', async () => {
    const { fetch, requests } = fakeFetch((_req, n) => ok(`tok-${n}`));
    const requestToken = createTokenRequester({
      sourceId: 'epic',
      tokenUrl: TOKEN_URL,
      clientId: 'c',
      auth: { kind: 'jwt', privateKeyPem, alg: 'RS384' },
      scopes: [],
      fetch,
    });
    await requestToken();
    await requestToken();
    const jtis = requests.map((r) => jwtPayload(new URLSearchParams(r.body).get('client_assertion')!).jti);
    expect(new Set(jtis).size).toBe(2);
    expect(new URLSearchParams(requests[0]!.body).has('scope')).toBe(false);
  });

  it('authenticates with a client secret over HTTP Basic (form-encoded id and secret)', async () => {
    const { fetch, requests } = fakeFetch(() => ok('tok'));
    await createTokenRequester(secretOptions(fetch))();
    const basic = requests[0]!.headers.authorization!;
    expect(Buffer.from(basic.replace('Basic ', ''), 'base64').toString()).toBe('client+1:s3cr%3Aet');
    expect(new URLSearchParams(requests[0]!.body).get('client_assertion')).toBeNull();
  });

  it('assumes 300 s when the endpoint omits expires_in', async () => {
    const { fetch } = fakeFetch(() => ({ status: 200, headers: {}, body: '{"access_token":"t"}' }));
    const issued = await createTokenRequester({ ...secretOptions(fetch), now: () => 0 })();
    expect(issued.expiresAt).toBe(300_000);
  });

  it.each([
    [
      400,
      { error: 'invalid_client', error_description: 'client Jane Doe unknown' },
      'AUTH_REJECTED',
      'invalid_client',
    ],
    [401, { error: 'invalid_client' }, 'AUTH_REJECTED', 'invalid_client'],
    [400, { error: 'invalid_grant' }, 'AUTH_REJECTED', 'invalid_grant'],
    [400, { error: 'made_up_error' }, 'AUTH_REJECTED', 'other'],
    [403, {}, 'AUTH_REJECTED', undefined],
    [500, {}, 'HTTP_TRANSIENT', undefined],
    [404, {}, 'HTTP_PERMANENT', undefined],
  ] as const)('maps status %i %j to %s', async (status, body, code, oauthError) => {
    const { fetch } = fakeFetch(() => ({ status, headers: {}, body: JSON.stringify(body) }));
    const err = await createTokenRequester(secretOptions(fetch))().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe(code);
    expect((err as PipelineError).context.oauthError).toBe(oauthError);
    const visible = JSON.stringify({ m: (err as Error).message, c: (err as PipelineError).context });
    expect(visible).not.toContain('Jane');
  });

  it('classifies unauthorized_client as AUTH_REJECTED even with an unusual status', async () => {
    const { fetch } = fakeFetch(() => ({
      status: 409,
      headers: {},
      body: '{"error":"unauthorized_client"}',
    }));
    await expect(createTokenRequester(secretOptions(fetch))()).rejects.toMatchObject({
      code: 'AUTH_REJECTED',
    });
  });

  it('honours Retry-After on a 429 from the token endpoint', async () => {
    const { fetch } = fakeFetch(() => ({ status: 429, headers: { 'retry-after': '7' }, body: '' }));
    await expect(createTokenRequester(secretOptions(fetch))()).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterMs: 7_000,
    });
  });

  it('answers every call during the back-off after a 429 without asking again, then doubles the wait', async () => {
    let nowMs = 1_000_000;
    const { fetch, requests } = fakeFetch((_req, n) =>
      n <= 2 ? { status: 429, headers: { 'retry-after': '3' }, body: '' } : ok('tok'),
    );
    const limiterCalls: string[] = [];
    const requestToken = createTokenRequester({
      ...secretOptions(fetch),
      now: () => nowMs,
      random: () => 0.5,
      limiter: {
        acquire: () => {
          limiterCalls.push('acquire');
          return Promise.resolve();
        },
        onThrottled: (ms) => {
          limiterCalls.push(`throttled:${String(ms)}`);
          return Promise.resolve();
        },
        onSuccess: () => {
          limiterCalls.push('success');
          return Promise.resolve();
        },
      },
    });
    await expect(requestToken()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 3_000 });
    // Ten callers (ten requests waiting for a token) during the wait: not one more token request.
    nowMs += 1_000;
    for (let i = 0; i < 10; i++) {
      await expect(requestToken()).rejects.toMatchObject({
        code: 'RATE_LIMITED',
        retryAfterMs: 2_000,
        context: { notSent: true },
      });
    }
    expect(requests).toHaveLength(1);
    nowMs += 2_000;
    // Refused again after honouring the hint: the hint is a floor, the wait grows (6 s, jittered).
    await expect(requestToken()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 4_500 });
    nowMs += 4_500;
    await expect(requestToken()).resolves.toMatchObject({ token: 'tok' });
    expect(requests).toHaveLength(3);
    // Each token request spent from the shared budget, and its 429s slowed it down.
    expect(limiterCalls).toEqual([
      'acquire',
      'throttled:3000',
      'acquire',
      'throttled:3000',
      'acquire',
      'success',
    ]);
  });

  it('maps a thrown network failure to HTTP_TRANSIENT, but lets a programmer error through', async () => {
    const reset = fakeFetch(() => {
      throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    });
    await expect(createTokenRequester(secretOptions(reset.fetch))()).rejects.toMatchObject({
      code: 'HTTP_TRANSIENT',
    });
    const bug = new TypeError('bug');
    const buggy = fakeFetch(() => {
      throw bug;
    });
    await expect(createTokenRequester(secretOptions(buggy.fetch))()).rejects.toBe(bug);
  });

  it.each<[string, TokenResponse]>([
    ['no access_token', { status: 200, headers: {}, body: '{"token_type":"bearer"}' }],
    ['a non-bearer token', { status: 200, headers: {}, body: '{"access_token":"x","token_type":"mac"}' }],
    ['a body that is not JSON', { status: 200, headers: {}, body: '<html>' }],
  ])('refuses a 200 with %s', async (_label, answer) => {
    const { fetch } = fakeFetch(() => answer);
    await expect(createTokenRequester(secretOptions(fetch))()).rejects.toMatchObject({
      code: 'HTTP_PERMANENT',
    });
  });

  it('reports an unusable private key as KEY_MISSING', async () => {
    const { fetch, requests } = fakeFetch(() => ok('never'));
    const requestToken = createTokenRequester({
      sourceId: 'epic',
      tokenUrl: TOKEN_URL,
      clientId: 'c',
      auth: {
        kind: 'jwt',
        privateKeyPem: '-----BEGIN PRIVATE KEY-----\nbm9wZQ==\n-----END PRIVATE KEY-----',
        alg: 'ES384',
      },
      scopes: [],
      fetch,
    });
    await expect(requestToken()).rejects.toMatchObject({ code: 'KEY_MISSING' });
    expect(requests).toHaveLength(0);
  });

  describe('default fetch (undici) against a local token endpoint', () => {
    let server: LocalServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('posts the form and reads the token', async () => {
      server = await startLocalServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: 'from-server', token_type: 'Bearer', expires_in: 600 }));
      });
      const issued = await createTokenRequester({
        ...secretOptions(undefined),
        tokenUrl: `${server.url}/token`,
      })();
      expect(issued.token).toBe('from-server');
      expect(server.requests[0]!.method).toBe('POST');
      expect(server.requests[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(new URLSearchParams(server.requests[0]!.body).get('scope')).toBe(
        'system/Patient.rs system/Observation.rs',
      );
    });

    it('maps a refused connection to HTTP_TRANSIENT', async () => {
      server = await startLocalServer(() => undefined);
      const url = `${server.url}/token`;
      await server.close();
      server = undefined;
      await expect(
        createTokenRequester({ ...secretOptions(undefined), tokenUrl: url })(),
      ).rejects.toMatchObject({
        code: 'HTTP_TRANSIENT',
      });
    });
  });
});
