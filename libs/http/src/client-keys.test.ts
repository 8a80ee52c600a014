import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { CLIENT_KEY_ALGS, generateClientKey, readClientKey, type ClientKeyAlg } from './client-keys.ts';
import { createTokenRequester, type TokenRequest } from './token-endpoint.ts';

const TOKEN_URL = 'https://ehr.example/auth/token';

/** Signs one client assertion the way the extractor does, and returns it. */
async function assertionWith(
  privateKeyPem: string,
  alg: ClientKeyAlg,
  kid: string | undefined,
): Promise<string> {
  let sent: TokenRequest | undefined;
  const requestToken = createTokenRequester({
    sourceId: 'site-a',
    tokenUrl: TOKEN_URL,
    clientId: 'ehrflow',
    auth: { kind: 'jwt', privateKeyPem, alg, ...(kid === undefined ? {} : { kid }) },
    scopes: ['system/*.read'],
    fetch: (req) => {
      sent = req;
      return Promise.resolve({
        status: 200,
        headers: {},
        body: '{"access_token":"t","token_type":"bearer","expires_in":300}',
      });
    },
  });
  await requestToken();
  const assertion = new URLSearchParams(sent?.body).get('client_assertion');
  if (assertion === null) throw new Error('no client assertion was sent');
  return assertion;
}

describe.each(CLIENT_KEY_ALGS)('generateClientKey %s', (alg) => {
  it('writes a key whose assertions verify against the public JWKS, as PEM and as JWK', async () => {
    const generated = await generateClientKey(alg);
    const jwks = JSON.parse(JSON.stringify(generated.publicJwks)) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kid: generated.kid, alg, use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');

    const fromPem = readClientKey(generated.privateKeyPem, alg);
    const fromJwk = readClientKey(JSON.stringify(generated.privateJwk), alg);
    if (!fromPem.ok || !fromJwk.ok) throw new Error('generated key was refused');
    expect(fromJwk.key.kid).toBe(generated.kid);
    for (const key of [fromPem.key, fromJwk.key]) {
      const assertion = await assertionWith(key.privateKeyPem, alg, generated.kid);
      expect(decodeProtectedHeader(assertion)).toMatchObject({ alg, kid: generated.kid });
      const { payload } = await jwtVerify(assertion, createLocalJWKSet(jwks), {
        audience: TOKEN_URL,
        issuer: 'ehrflow',
      });
      expect(payload.sub).toBe('ehrflow');
    }
  });

  it('gives a stable thumbprint kid, or the one asked for', async () => {
    const generated = await generateClientKey(alg);
    expect(generated.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await generateClientKey(alg, { kid: 'k-2026' })).kid).toBe('k-2026');
  });

  it('an assertion signed with another key does not verify against the JWKS', async () => {
    const [registered, other] = [await generateClientKey(alg), await generateClientKey(alg, { kid: 'same' })];
    const jwks = { keys: registered.publicJwks.keys.map((k) => ({ ...k, kid: 'same' })) };
    const assertion = await assertionWith(other.privateKeyPem, alg, 'same');
    await expect(jwtVerify(assertion, createLocalJWKSet(jwks))).rejects.toThrow();
  });
});

describe('readClientKey', () => {
  it('accepts PKCS#1 RSA and SEC1 EC PEM keys and hands out PKCS#8', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      format: 'pem',
      type: 'pkcs1',
    });
    const ec = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({
      format: 'pem',
      type: 'sec1',
    });
    expect(String(rsa)).toContain('BEGIN RSA PRIVATE KEY');
    expect(String(ec)).toContain('BEGIN EC PRIVATE KEY');
    for (const [pem, alg] of [
      [String(rsa), 'RS384'],
      [String(ec), 'ES384'],
    ] as const) {
      const result = readClientKey(pem, alg);
      expect(result.ok && result.key.privateKeyPem.startsWith('-----BEGIN PRIVATE KEY-----')).toBe(true);
      if (result.ok)
        expect(createPrivateKey(result.key.privateKeyPem).asymmetricKeyType).toBe(
          alg === 'RS384' ? 'rsa' : 'ec',
        );
    }
  });

  it('accepts a JWKS holding one private key', async () => {
    const generated = await generateClientKey('ES384');
    const result = readClientKey(JSON.stringify({ keys: [generated.privateJwk] }), 'ES384');
    expect(result.ok && result.key.kid).toBe(generated.kid);
  });

  it('refuses keys that do not fit, each with a reason that carries no key material', async () => {
    const es = await generateClientKey('ES384');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    const cases: [string, ClientKeyAlg, RegExp][] = [
      [es.privateKeyPem, 'RS384', /EC key; RS384 needs an RSA key/],
      [String(p256), 'ES384', /P-384/],
      [String(rsa1024), 'RS384', /1024 bits; RS384 needs at least 2048/],
      [JSON.stringify(es.publicJwks.keys[0]), 'ES384', /public JWK/],
      [JSON.stringify(es.publicJwks), 'ES384', /public JWK/],
      [JSON.stringify({ keys: [es.privateJwk, es.privateJwk] }), 'ES384', /exactly one/],
      [JSON.stringify(es.privateJwk), 'RS384', /JWK for ES384, but auth.alg is RS384/],
      ['{"kty":', 'ES384', /not valid JSON/],
      [
        '-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----',
        'ES384',
        /encrypted/,
      ],
      [
        '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----',
        'ES384',
        /not a readable private key/,
      ],
      ['just-a-secret-string', 'ES384', /PEM private key or a private JWK/],
    ];
    for (const [text, alg, reason] of cases) {
      const result = readClientKey(text, alg);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.reason).toMatch(reason);
        expect(result.reason).not.toContain(String(es.privateJwk.d));
        expect(result.reason).not.toContain('just-a-secret');
      }
    }
  });
});
