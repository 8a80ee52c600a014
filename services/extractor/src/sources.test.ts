import { generateKeyPairSync } from 'node:crypto';
import { ConfigError } from '@ehrflow/config';
import { describe, expect, it } from 'vitest';
import { parseSources } from './sources.ts';

const ecKey = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey;
const PEM = String(ecKey.export({ format: 'pem', type: 'pkcs8' }));
const JWK = JSON.stringify({ ...ecKey.export({ format: 'jwk' }), kid: 'jwk-kid' });
const files: Record<string, string> = {
  'a.pem': PEM,
  'a.jwk.json': JWK,
  'b.secret': 'top-secret-value\n',
  'empty.secret': '',
};
const readFile = (f: string): string => {
  const content = files[f];
  if (content === undefined) throw new Error('ENOENT');
  return content;
};

const siteA = {
  id: 'site-a',
  baseUrl: 'http://127.0.0.1:8090/site-a/fhir',
  tokenUrl: 'http://127.0.0.1:8090/site-a/auth/token',
  clientId: 'c1',
  auth: { method: 'jwt', privateKeyFile: 'a.pem', alg: 'ES384', kid: 'k1' },
  rateLimitPerMinute: 600,
  resourceTypes: ['Patient', 'Observation'],
};
const siteB = { ...siteA, id: 'site-b', auth: { method: 'secret', secretFile: 'b.secret' } };

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.map((p) => `${p.variable}: ${p.reason}`);
  }
  throw new Error('expected a ConfigError');
}

describe('parseSources', () => {
  it('loads credentials and applies defaults', () => {
    const [a, b] = parseSources(JSON.stringify({ sources: [siteA, siteB] }), readFile);
    expect(a?.auth).toEqual({ kind: 'jwt', privateKeyPem: PEM, alg: 'ES384', kid: 'k1' });
    expect(b?.auth).toEqual({ kind: 'secret', secret: 'top-secret-value' });
    expect(a).toMatchObject({
      headroom: 0.6,
      maxConcurrency: 4,
      scopes: ['system/*.read'],
      exportLevel: 'system',
    });
  });

  it('names the source and the field of every problem, without values', () => {
    const bad = {
      sources: [
        { ...siteA, headroom: 1.5, resourceTypes: ['Patient', 'Spaceship'] },
        { ...siteB, rateLimitPerMinute: 'lots' },
        { ...siteB, id: 'has space', baseUrl: 'not a url' },
      ],
    };
    const problems = problemsOf(() => parseSources(JSON.stringify(bad), readFile));
    expect(problems).toEqual(
      expect.arrayContaining([
        'source site-a: headroom: must be at most 1',
        'source site-a: resourceTypes.1: is not a FHIR R4 resource type (see https://hl7.org/fhir/R4/resourcelist.html)',
        'source site-b: rateLimitPerMinute: must be a number',
        expect.stringMatching(/^source #3: id: must/),
        'source #3: baseUrl: must be a valid url',
      ]),
    );
    expect(problems.join('\n')).not.toContain('Spaceship');
    expect(problems.join('\n')).not.toContain('lots');
  });

  it('reports a missing field as required and unknown fields by name', () => {
    const noClient: Partial<typeof siteA> = { ...siteA };
    delete noClient.clientId;
    const problems = problemsOf(() =>
      parseSources(JSON.stringify({ sources: [{ ...noClient, extra: 1 }] }), readFile),
    );
    expect(problems).toContain('source site-a: clientId: is required');
    expect(problems).toContain('source site-a: (entry): has unknown field(s) extra');
  });

  it('reports unreadable, empty or non-PEM credential files, duplicate ids and a missing group id', () => {
    const sources = [
      { ...siteA, auth: { ...siteA.auth, privateKeyFile: 'missing.pem' } },
      { ...siteB, auth: { method: 'secret', secretFile: 'empty.secret' } },
      { ...siteB, id: 'site-c', auth: { method: 'jwt', privateKeyFile: 'b.secret', alg: 'RS384' } },
      { ...siteB, id: 'site-c', exportLevel: 'group' },
    ];
    const problems = problemsOf(() => parseSources(JSON.stringify({ sources }), readFile));
    expect(problems).toEqual([
      'source site-a: auth.privateKeyFile: file cannot be read',
      'source site-b: auth.secretFile: file is empty',
      'source site-c: auth.privateKeyFile: must hold a PEM private key or a private JWK',
      'source site-c: id: is used by more than one source',
      'source site-c: groupId: is required when exportLevel is group',
    ]);
    expect(problems.join('\n')).not.toContain('top-secret-value');
  });

  it('accepts any FHIR R4 resource type, contracted or not', () => {
    const types = ['Patient', 'Flag', 'Goal', 'Immunization', 'Bundle'];
    const [a] = parseSources(JSON.stringify({ sources: [{ ...siteA, resourceTypes: types }] }), readFile);
    expect(a?.resourceTypes).toEqual(types);
  });

  it('refuses a name that is no R4 type, giving the official spelling when only case differs', () => {
    const sources = [
      {
        ...siteA,
        resourceTypes: ['Flag', 'flag', 'Medicationstatement', 'SubscriptionStatus', 'Resource', 7],
      },
    ];
    expect(problemsOf(() => parseSources(JSON.stringify({ sources }), readFile))).toEqual([
      'source site-a: resourceTypes.1: is not a FHIR R4 resource type (names are case-sensitive: Flag)',
      'source site-a: resourceTypes.2: is not a FHIR R4 resource type (names are case-sensitive: MedicationStatement)',
      'source site-a: resourceTypes.3: is not a FHIR R4 resource type (see https://hl7.org/fhir/R4/resourcelist.html)',
      'source site-a: resourceTypes.4: is not a FHIR R4 resource type (see https://hl7.org/fhir/R4/resourcelist.html)',
      'source site-a: resourceTypes.5: must be a string',
    ]);
  });

  it('reads the private key as PEM or as JWK, the kid defaulting to the JWK one', () => {
    const jwkAuth = { method: 'jwt', privateKeyFile: 'a.jwk.json', alg: 'ES384' };
    const [pem, jwk] = parseSources(
      JSON.stringify({
        sources: [
          { ...siteA, auth: { ...siteA.auth, kid: undefined } },
          { ...siteB, auth: jwkAuth },
        ],
      }),
      readFile,
    );
    expect(pem?.auth).toEqual({ kind: 'jwt', privateKeyPem: PEM, alg: 'ES384' });
    expect(jwk?.auth).toEqual({ kind: 'jwt', privateKeyPem: PEM, alg: 'ES384', kid: 'jwk-kid' });
    const clash = [
      { ...siteB, auth: { ...jwkAuth, kid: 'other' } },
      { ...siteA, id: 'rsa', auth: { ...siteA.auth, alg: 'RS384' } },
    ];
    const problems = problemsOf(() => parseSources(JSON.stringify({ sources: clash }), readFile));
    expect(problems).toEqual([
      'source site-b: auth.kid: differs from the kid of the JWK in auth.privateKeyFile (the EHR looks the key up by kid)',
      'source rsa: auth.privateKeyFile: is an EC key; RS384 needs an RSA key',
    ]);
    expect(problems.join('\n')).not.toContain(String(JSON.parse(JWK).d));
  });

  it('reports a credential problem together with a shape problem of the same file', () => {
    const sources = [
      { ...siteA, headroom: 2, auth: { ...siteA.auth, alg: 'RS384' } },
      {
        ...siteB,
        id: 'site-b',
        resourceTypes: ['Goal'],
        auth: { method: 'secret', secretFile: 'missing.secret' },
      },
    ];
    expect(problemsOf(() => parseSources(JSON.stringify({ sources }), readFile))).toEqual([
      'source site-a: headroom: must be at most 1',
      'source site-a: auth.privateKeyFile: is an EC key; RS384 needs an RSA key',
      'source site-b: auth.secretFile: file cannot be read',
    ]);
  });

  it('leaves the token URL to discovery when it is omitted', () => {
    const noToken: Partial<typeof siteA> = { ...siteA };
    delete noToken.tokenUrl;
    const [a] = parseSources(JSON.stringify({ sources: [noToken] }), readFile);
    expect(a?.tokenUrl).toBeUndefined();
  });

  it('refuses text that is not JSON', () => {
    expect(problemsOf(() => parseSources('{', readFile))).toEqual(['sources file: is not valid JSON']);
  });
});
