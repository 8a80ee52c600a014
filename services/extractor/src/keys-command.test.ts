import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify, SignJWT, importPKCS8 } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeys, parseKeysArgs, type KeysRequest } from './keys-command.ts';
import { parseSources } from './sources.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ehrflow-keys-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseKeysArgs', () => {
  it('reads generate options with defaults', () => {
    expect(parseKeysArgs(['generate', '--alg', 'ES384'])).toEqual({
      alg: 'ES384',
      outDir: '.',
      name: 'ehrflow-es384',
      format: 'pem',
      force: false,
    });
    expect(
      parseKeysArgs([
        'generate',
        '--alg',
        'RS384',
        '--kid',
        'k1',
        '--format',
        'jwk',
        '--out-dir',
        '/x',
        '--name',
        'a',
        '--force',
      ]),
    ).toEqual({ alg: 'RS384', kid: 'k1', outDir: '/x', name: 'a', format: 'jwk', force: true });
  });

  it('answers help and refuses bad options with a reason', () => {
    expect(parseKeysArgs([])).toBe('help');
    expect(parseKeysArgs(['generate', '--help'])).toBe('help');
    expect(parseKeysArgs(['generate'])).toEqual({
      error: 'keys generate: --alg must be one of RS384, ES384',
    });
    expect(parseKeysArgs(['generate', '--alg', 'HS256'])).toEqual({
      error: 'keys generate: --alg must be one of RS384, ES384',
    });
    expect(parseKeysArgs(['generate', '--alg', 'ES384', '--format', 'der'])).toEqual({
      error: 'keys generate: --format must be pem or jwk',
    });
    expect(parseKeysArgs(['generate', '--alg', 'ES384', '--name', '../x'])).toHaveProperty('error');
    expect(parseKeysArgs(['rotate'])).toEqual({ error: 'keys: unknown subcommand rotate' });
  });
});

describe.each(['RS384', 'ES384'] as const)('generateKeys %s', (alg) => {
  it.each(['pem', 'jwk'] as const)(
    'writes a %s private key (0600) the sources file loads, and a JWKS that verifies its assertions',
    async (format) => {
      const request: KeysRequest = { alg, outDir: dir, name: 'site-a', format, force: false };
      const result = await generateKeys(request);
      const privatePath = join(dir, result.privateKeyFile);
      expect((await stat(privatePath)).mode & 0o777).toBe(0o600);
      const privateText = await readFile(privatePath, 'utf8');
      expect(result.summary).not.toContain(privateText.trim().slice(40, 80));
      const jwks = JSON.parse(await readFile(join(dir, result.jwksFile), 'utf8')) as {
        keys: Record<string, unknown>[];
      };
      expect(jwks.keys.map((k) => [k.kid, k.alg, 'd' in k])).toEqual([[result.kid, alg, false]]);

      // The "auth" block printed for the sources file loads as is.
      const auth = JSON.parse(/"auth": (\{.*\})/.exec(result.summary)?.[1] ?? 'null') as unknown;
      const [source] = parseSources(
        JSON.stringify({
          sources: [
            {
              id: 'site-a',
              baseUrl: 'https://ehr.example/fhir',
              clientId: 'c',
              auth,
              rateLimitPerMinute: 60,
              resourceTypes: ['Flag'],
            },
          ],
        }),
        (file) => (file === result.privateKeyFile ? privateText : ''),
      );
      if (source?.auth.kind !== 'jwt') throw new Error('expected jwt auth');
      expect(source.auth.kid).toBe(result.kid);
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg, kid: result.kid })
        .setIssuer('c')
        .setExpirationTime('5m')
        .sign(await importPKCS8(source.auth.privateKeyPem, alg));
      await expect(jwtVerify(assertion, createLocalJWKSet(jwks as never))).resolves.toMatchObject({
        payload: { iss: 'c' },
      });
    },
  );
});

describe('generateKeys files', () => {
  it('refuses to overwrite a key unless forced', async () => {
    await writeFile(join(dir, 'site-a.private.pem'), 'registered key');
    const request: KeysRequest = { alg: 'ES384', outDir: dir, name: 'site-a', format: 'pem', force: false };
    await expect(generateKeys(request)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await readFile(join(dir, 'site-a.private.pem'), 'utf8')).toBe('registered key');
    await generateKeys({ ...request, force: true });
    expect(await readFile(join(dir, 'site-a.private.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect((await stat(join(dir, 'site-a.private.pem'))).mode & 0o777).toBe(0o600);
  });
});
