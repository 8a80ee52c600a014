import { createPrivateKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose';

/** Signing algorithms SMART Backend Services requires servers to support. */
export const CLIENT_KEY_ALGS = ['RS384', 'ES384'] as const;
export type ClientKeyAlg = (typeof CLIENT_KEY_ALGS)[number];

/** A private key ready for the token requester: PKCS#8 PEM, whatever form it was given in. */
export interface ClientKey {
  readonly privateKeyPem: string;
  /** The `kid` the JWK carried, when the key was given as a JWK. */
  readonly kid?: string;
}

/** Why a key was refused. Written from the key's kind and size only, never from its material. */
export type ClientKeyResult =
  { readonly ok: true; readonly key: ClientKey } | { readonly ok: false; readonly reason: string };

const MIN_RSA_BITS = 2048;

/**
 * Reads the private key a source signs its client assertions with. Accepted forms: a PEM private
 * key (PKCS#8 `PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`), a private JWK,
 * or a JWKS holding exactly one private JWK. The key must fit the algorithm: RS384 needs an RSA key
 * of at least 2048 bits, ES384 an EC key on P-384. An encrypted PEM is refused (the extractor has
 * no passphrase to give it; mount the key decrypted, as a secret).
 *
 * @see https://hl7.org/fhir/smart-app-launch/backend-services.html#registering-a-client-communicating-public-keys
 */
export function readClientKey(text: string, alg: ClientKeyAlg): ClientKeyResult {
  const trimmed = text.trim();
  let key: KeyObject;
  let kid: string | undefined;
  if (trimmed.startsWith('{')) {
    const jwk = privateJwkOf(trimmed);
    if (typeof jwk === 'string') return { ok: false, reason: jwk };
    try {
      key = createPrivateKey({ key: jwk, format: 'jwk' });
    } catch {
      return { ok: false, reason: 'is a JWK that is not a usable private key' };
    }
    if (typeof jwk.kid === 'string' && jwk.kid !== '') kid = jwk.kid;
    if (typeof jwk.alg === 'string' && jwk.alg !== alg)
      return { ok: false, reason: `holds a JWK for ${jwk.alg}, but auth.alg is ${alg}` };
  } else if (trimmed.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    return {
      ok: false,
      reason: 'holds an encrypted PEM key; give the key unencrypted (mounted as a secret)',
    };
  } else if (/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(trimmed)) {
    try {
      key = createPrivateKey({ key: trimmed, format: 'pem' });
    } catch {
      return { ok: false, reason: 'holds a PEM block that is not a readable private key' };
    }
  } else {
    return { ok: false, reason: 'must hold a PEM private key or a private JWK' };
  }
  const misfit = misfitFor(key, alg);
  if (misfit !== undefined) return { ok: false, reason: misfit };
  const privateKeyPem = key.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { ok: true, key: kid === undefined ? { privateKeyPem } : { privateKeyPem, kid } };
}

function privateJwkOf(text: string): (JsonWebKey & { kid?: unknown; alg?: unknown }) | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'starts like JSON but is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must hold a JWK object';
  const record = value as Record<string, unknown>;
  if (Array.isArray(record.keys)) {
    if (record.keys.length !== 1) return 'is a JWKS; it must hold exactly one (private) key';
    const [only] = record.keys as unknown[];
    if (typeof only !== 'object' || only === null) return 'is a JWKS whose key is not a JWK object';
    return privateJwkOf(JSON.stringify(only));
  }
  if (record.d === undefined) return 'is a public JWK; the extractor needs the private key (with "d")';
  return record;
}

function misfitFor(key: KeyObject, alg: ClientKeyAlg): string | undefined {
  const details = key.asymmetricKeyDetails;
  const kind =
    key.asymmetricKeyType === 'rsa'
      ? 'RSA'
      : key.asymmetricKeyType === 'ec'
        ? 'EC'
        : String(key.asymmetricKeyType);
  switch (alg) {
    case 'RS384':
      if (key.asymmetricKeyType !== 'rsa') return `is an ${kind} key; RS384 needs an RSA key`;
      if ((details?.modulusLength ?? 0) < MIN_RSA_BITS)
        return `is an RSA key of ${String(details?.modulusLength)} bits; RS384 needs at least ${MIN_RSA_BITS}`;
      return undefined;
    case 'ES384':
      if (key.asymmetricKeyType !== 'ec') return `is an ${kind} key; ES384 needs an EC key`;
      if (details?.namedCurve !== 'secp384r1')
        return `is an EC key on ${String(details?.namedCurve)}; ES384 needs P-384 (secp384r1)`;
      return undefined;
  }
}

/** A new signing key pair: the private half for the extractor, the public JWKS for the EHR. */
export interface GeneratedClientKey {
  readonly alg: ClientKeyAlg;
  readonly kid: string;
  /** PKCS#8 PEM private key. */
  readonly privateKeyPem: string;
  /** The same private key as a JWK (with `kid` and `alg`). */
  readonly privateJwk: JWK;
  /** The JWKS to register with the EHR: the public key only. */
  readonly publicJwks: { readonly keys: readonly JWK[] };
}

/**
 * Generates a client assertion key pair (RSA 3072 bits for RS384, P-384 for ES384). The `kid`
 * defaults to the RFC 7638 thumbprint of the public key, so the same key always has the same id.
 *
 * @see https://www.rfc-editor.org/rfc/rfc7638
 */
export async function generateClientKey(
  alg: ClientKeyAlg,
  options: { kid?: string } = {},
): Promise<GeneratedClientKey> {
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS384' ? { modulusLength: 3072 } : {}),
  });
  const publicBare = await exportJWK(pair.publicKey);
  const kid = options.kid ?? (await calculateJwkThumbprint(publicBare, 'sha256'));
  // `use` only: RFC 7517 §4.3 advises against `use` and `key_ops` together.
  const publicJwk: JWK = { ...publicBare, kid, alg, use: 'sig' };
  const privateJwk: JWK = { ...(await exportJWK(pair.privateKey)), kid, alg };
  return {
    alg,
    kid,
    privateKeyPem: await exportPKCS8(pair.privateKey),
    privateJwk,
    publicJwks: { keys: [publicJwk] },
  };
}
