import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from './simulator.ts';
import { pathOf, runExport, SECRET_CLIENT, secretToken } from './test-support.ts';

/**
 * A resumed download continues at a byte offset of the download it resumes, so its bytes must
 * be that download's bytes from the offset on, drifted lines included. Drift renames a field to a
 * longer name: served undrifted, the range would start inside a line (the demo's PARSE_ERROR).
 */
describe('ranged downloads after drift', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim.stop();
  });

  it('serves the bytes of the full download from the requested offset, drift included', async () => {
    sim = createSimulator({
      seed: 'ranged-drift',
      patientsPerSite: 30,
      resourcesPerPatient: 1,
      clients: [SECRET_CLIENT],
      faults: {
        drift: { resourceType: 'Patient', after: 10, mode: 'rename', field: 'birthDate', to: 'dateOfBirth' },
      },
    });
    const token = await secretToken(sim);
    const auth = { authorization: `Bearer ${token}` };
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient');
    const url = pathOf(manifest.output[0]?.url ?? '');
    const full = await sim.app.inject({ url, headers: auth });
    expect(full.statusCode).toBe(200);
    expect(sim.counters().driftedResources).toBeGreaterThan(0);
    const lines = full.body.split('\n').slice(0, -1);
    expect(lines.length).toBe(30);

    // Resume at the start of every later line, as a client does after a reset there.
    let offset = 0;
    for (let i = 0; i < lines.length; i++) {
      if (i >= 12 && i % 5 === 0) {
        const res = await sim.app.inject({ url, headers: { ...auth, range: `bytes=${offset}-` } });
        expect(res.statusCode, `line ${i + 1}`).toBe(206);
        expect(res.headers['content-range'], `line ${i + 1}`).toBe(
          `bytes ${offset}-${full.rawPayload.length - 1}/${full.rawPayload.length}`,
        );
        expect(res.body, `line ${i + 1}`).toBe(full.rawPayload.subarray(offset).toString('utf8'));
      }
      offset += Buffer.byteLength(lines[i] ?? '') + 1;
    }
  });
});
