import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeys } from './keys-command.ts';
import { loadSources, type DeclaredSource } from './sources.ts';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'sources.example.json');

// The example in the repository must load as written, once the credentials it names exist (made
// here the way docs/onboarding-a-source.md says: `keys generate`, and a secret file).
describe('examples/sources.example.json', () => {
  let dir: string;
  let sources: DeclaredSource[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ehrflow-example-'));
    await copyFile(EXAMPLE, join(dir, 'sources.json'));
    await mkdir(join(dir, 'keys'));
    await mkdir(join(dir, 'secrets'));
    await generateKeys({
      alg: 'RS384',
      outDir: join(dir, 'keys'),
      name: 'ehrflow-rs384',
      format: 'pem',
      force: false,
    });
    await writeFile(join(dir, 'secrets', 'community-clinic.secret'), 'synthetic-secret\n', { mode: 0o600 });
    sources = loadSources(join(dir, 'sources.json'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads both sources with their credentials', () => {
    expect(sources.map((s) => [s.id, s.auth.kind])).toEqual([
      ['general-hospital', 'jwt'],
      ['community-clinic', 'secret'],
    ]);
  });

  it('shows SMART discovery (no tokenUrl) and a configured token URL', () => {
    expect(sources[0]?.tokenUrl).toBeUndefined();
    expect(sources[1]?.tokenUrl).toBe('https://ehr.community-clinic.example/oauth2/token');
  });
});
