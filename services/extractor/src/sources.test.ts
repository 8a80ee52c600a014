import { ConfigError } from '@ehrflow/config';
import { describe, expect, it } from 'vitest';
import { parseSources } from './sources.ts';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----\n';
const files: Record<string, string> = { 'a.pem': PEM, 'b.secret': 'top-secret-value\n', 'empty.secret': '' };
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
    expect(a?.auth).toEqual({ kind: 'jwt', privateKeyPem: PEM.trim(), alg: 'ES384', kid: 'k1' });
    expect(b?.auth).toEqual({ kind: 'secret', secret: 'top-secret-value' });
    expect(a).toMatchObject({ headroom: 0.6, maxConcurrency: 4, scopes: ['system/*.read'], exportLevel: 'system' });
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
        expect.stringMatching(/^source site-a: resourceTypes\.1: expected one of/),
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
    const problems = problemsOf(() => parseSources(JSON.stringify({ sources: [{ ...noClient, extra: 1 }] }), readFile));
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
      'source site-c: auth.privateKeyFile: must hold a PEM PKCS#8 private key',
      'source site-c: id: is used by more than one source',
      'source site-c: groupId: is required when exportLevel is group',
    ]);
    expect(problems.join('\n')).not.toContain('top-secret-value');
  });

  it('refuses text that is not JSON', () => {
    expect(problemsOf(() => parseSources('{', readFile))).toEqual(['sources file: is not valid JSON']);
  });
});
