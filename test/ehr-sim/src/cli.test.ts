import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLI_FLAGS, parseCliArgs } from './cli-args.ts';
import { resolveOptions } from './options.ts';

describe('cli', () => {
  it('--help prints every flag', () => {
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const run = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8', timeout: 15_000 });
    expect(run.status).toBe(0);
    for (const flag of CLI_FLAGS) expect(run.stdout).toContain(`--${flag.name}`);
    for (const required of ['port', 'seed', 'sites', 'patients', 'token-lifetime', 'rate-limit', 'faults']) {
      expect(CLI_FLAGS.map((f) => f.name)).toContain(required);
    }
  });

  it('turns flags into simulator options', () => {
    const command = parseCliArgs([
      '--port',
      '0',
      '--seed',
      's1',
      '--sites',
      'north,south',
      '--patients',
      '12',
      '--per-patient',
      '3',
      '--token-lifetime',
      '1',
      '--rate-limit',
      '30',
      '--rate-window',
      'fixed',
      '--faults',
      '{"resetProbability":0.25,"retryAfter":"absurd"}',
      '--client',
      'a:b',
      '--client',
      'c:d:e',
    ]);
    if (command.help) throw new Error('unexpected help');
    expect(command.port).toBe(0);
    const resolved = resolveOptions(command.options);
    expect(resolved).toMatchObject({
      seed: 's1',
      sites: ['north', 'south'],
      tokenLifetimeSeconds: 1,
      rateLimit: { limit: 30, windowMs: 60_000, window: 'fixed' },
      faults: { resetProbability: 0.25, retryAfter: 'absurd' },
      clients: [
        { clientId: 'a', secret: 'b' },
        { clientId: 'c', secret: 'd:e' },
      ],
    });
    expect(resolved.shape).toMatchObject({ patientsPerSite: 12, perPatient: { Observation: 3 } });
  });

  it('registers JWKS clients from a file and canaries from JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ehr-sim-cli-'));
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-384', x: 'AA', y: 'BB', kid: 'k1' }] }));
    const command = parseCliArgs([
      '--client-jwks',
      `backend=${file}`,
      '--canaries',
      '[{"site":"site-a","patientIndex":0,"family":"Canary"}]',
    ]);
    if (command.help) throw new Error('unexpected help');
    expect(command.options.clients).toEqual([
      { clientId: 'backend', jwks: { keys: [expect.objectContaining({ kid: 'k1' })] } },
    ]);
    expect(command.options.canaries).toEqual([{ site: 'site-a', patientIndex: 0, family: 'Canary' }]);
  });

  it('rejects unknown flags and malformed values', () => {
    expect(() => parseCliArgs(['--nope'])).toThrow();
    expect(() => parseCliArgs(['--patients', 'many'])).toThrow(/--patients/);
    expect(() => parseCliArgs(['--faults', '{oops'])).toThrow(/--faults/);
  });
});
