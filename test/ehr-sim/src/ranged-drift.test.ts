import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from './simulator.ts';
import { pathOf, runExport, SECRET_CLIENT, secretToken } from './testing/export.ts';

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

  it('renders a volatile file differently per request, so a naive resume lands mid-line', async () => {
    sim = createSimulator({
      seed: 'ranged-volatile',
      patientsPerSite: 30,
      resourcesPerPatient: 1,
      clients: [SECRET_CLIENT],
      faults: { volatileFileBytes: true },
    });
    const token = await secretToken(sim);
    const auth = { authorization: `Bearer ${token}` };
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient');
    const url = pathOf(manifest.output[0]?.url ?? '');
    const first = await sim.app.inject({ url, headers: auth });
    const second = await sim.app.inject({ url, headers: auth });
    expect(first.body).not.toBe(second.body);
    expect(first.headers.etag).not.toBe(second.headers.etag);
    // Same resources in the same order: only the bytes differ.
    const ids = (body: string): string[] =>
      body
        .split('\n')
        .slice(0, -1)
        .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids(second.body)).toEqual(ids(first.body));

    // Line 11 starts here in the first rendering; a later rendering's byte before it is no newline.
    const offset = first.body
      .split('\n')
      .slice(0, 10)
      .reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
    const ranged = await sim.app.inject({ url, headers: { ...auth, range: `bytes=${offset - 1}-` } });
    expect(ranged.statusCode).toBe(206);
    expect(ranged.rawPayload[0]).not.toBe(0x0a);
    expect(Number(ranged.headers['content-length'])).toBe(ranged.rawPayload.length);

    // If-Range with the first rendering's ETag: the file changed, so the whole file with 200.
    const stale = await sim.app.inject({
      url,
      headers: { ...auth, range: `bytes=${offset}-`, 'if-range': String(first.headers.etag) },
    });
    expect(stale.statusCode).toBe(200);
    expect(ids(stale.body)).toEqual(ids(first.body));
  });

  it('honours If-Range like a real server: a current ETag gets the range, a stale one the whole file', async () => {
    sim = createSimulator({
      seed: 'ranged-etag',
      patientsPerSite: 20,
      resourcesPerPatient: 1,
      clients: [SECRET_CLIENT],
    });
    const token = await secretToken(sim);
    const auth = { authorization: `Bearer ${token}` };
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient');
    const url = pathOf(manifest.output[0]?.url ?? '');
    const full = await sim.app.inject({ url, headers: auth });
    const etag = String(full.headers.etag);
    expect(etag).toMatch(/^"[^"]+"$/);
    const current = await sim.app.inject({ url, headers: { ...auth, range: 'bytes=10-', 'if-range': etag } });
    expect(current.statusCode).toBe(206);
    expect(current.body).toBe(full.rawPayload.subarray(10).toString('utf8'));
    const stale = await sim.app.inject({
      url,
      headers: { ...auth, range: 'bytes=10-', 'if-range': '"old"' },
    });
    expect(stale.statusCode).toBe(200);
    expect(stale.body).toBe(full.body);

    sim.setFaults({ fileValidators: 'last-modified' });
    const dated = await sim.app.inject({ url, headers: auth });
    expect(dated.headers.etag).toBeUndefined();
    const modified = String(dated.headers['last-modified']);
    expect(Number.isNaN(Date.parse(modified))).toBe(false);
    const byDate = await sim.app.inject({
      url,
      headers: { ...auth, range: 'bytes=10-', 'if-range': modified },
    });
    expect(byDate.statusCode).toBe(206);
  });
});
