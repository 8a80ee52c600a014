import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from './simulator.ts';
import { RESOURCE_TYPES } from './resource-types.ts';
import { downloadLines, runExport, SECRET_CLIENT, secretToken } from './testing/export.ts';

const PATIENTS = 12;

describe('on-request (uncontracted) types and SMART discovery', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim.stop();
  });

  function make(): Simulator {
    return createSimulator({
      seed: 'flag-test',
      patientsPerSite: PATIENTS,
      resourcesPerPatient: 2,
      clients: [SECRET_CLIENT],
    });
  }

  it('exports Flag when _type asks for it: one per patient, each naming its patient', async () => {
    sim = make();
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient,Flag');
    expect(new Set(manifest.output.map((o) => o.type))).toEqual(new Set(['Patient', 'Flag']));
    const lines: string[] = [];
    for (const file of manifest.output.filter((o) => o.type === 'Flag'))
      lines.push(...(await downloadLines(sim, token, file.url)));
    const flags = lines.map(
      (l) => JSON.parse(l) as { resourceType: string; id: string; subject: { reference: string } },
    );
    expect(flags).toHaveLength(PATIENTS);
    expect(new Set(flags.map((f) => f.id)).size).toBe(PATIENTS);
    expect(flags.every((f) => f.resourceType === 'Flag')).toBe(true);
    expect(new Set(flags.map((f) => f.subject.reference))).toEqual(
      new Set(Array.from({ length: PATIENTS }, (_, i) => `Patient/pat-${i}`)),
    );
  });

  it('leaves Flag out of an export without _type, and serves it to search and read', async () => {
    sim = make();
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export');
    expect(new Set(manifest.output.map((o) => o.type))).toEqual(new Set(RESOURCE_TYPES));
    const auth = { authorization: `Bearer ${token}` };
    const search = await sim.app.inject({ url: '/site-a/fhir/Flag?_count=5', headers: auth });
    expect(search.statusCode).toBe(200);
    expect(search.json<{ total?: number; entry: unknown[] }>().entry).toHaveLength(5);
    const read = await sim.app.inject({ url: '/site-a/fhir/Flag/flg-3', headers: auth });
    expect(read.json()).toMatchObject({
      resourceType: 'Flag',
      id: 'flg-3',
      subject: { reference: 'Patient/pat-3' },
    });
    const goal = await sim.app.inject({ url: '/site-a/fhir/Goal', headers: auth });
    expect(goal.statusCode).toBe(404);
  });

  it('publishes its token endpoint at <base>/.well-known/smart-configuration without a token', async () => {
    sim = make();
    const res = await sim.app.inject({ url: '/site-b/fhir/.well-known/smart-configuration' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      token_endpoint: 'http://localhost:80/site-b/auth/token',
      token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'],
    });
  });
});
