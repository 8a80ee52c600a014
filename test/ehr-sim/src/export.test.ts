import { afterEach, describe, expect, it } from 'vitest';
import type { ExportManifest } from './export-jobs.ts';
import { createSimulator, type Simulator } from './simulator.ts';
import {
  downloadLines,
  exportHeaders,
  fakeClock,
  pathOf,
  runExport,
  SECRET_CLIENT,
  secretToken,
} from './testing/export.ts';
import { RESOURCE_TYPES, type ResourceType } from './resource-types.ts';

const SINCE = '2024-09-01T00:00:00.000Z';

function make(extra: Parameters<typeof createSimulator>[0] = {}): Simulator {
  return createSimulator({
    seed: 'export-test',
    patientsPerSite: 40,
    resourcesPerPatient: 3,
    deletedFraction: 0.1,
    clients: [SECRET_CLIENT],
    ...extra,
  });
}

/** Expected live resources of a type, optionally updated since an instant. */
function expectedIds(sim: Simulator, type: ResourceType, sinceMs?: number, deleted = false): string[] {
  const layout = sim.generator.layout('site-a');
  const ids: string[] = [];
  for (let i = 0; i < layout.count(type); i++) {
    const meta = layout.meta(type, i);
    if (meta.deleted === deleted && (sinceMs === undefined || meta.lastUpdatedMs >= sinceMs))
      ids.push(`${type}/${sim.generator.resource('site-a', type, i).id}`);
  }
  return ids;
}

describe('Bulk Data $export', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim.stop();
  });

  it('validates the kick-off request', async () => {
    sim = make();
    const token = await secretToken(sim);
    const auth = { authorization: `Bearer ${token}` };
    const cases: [string, Record<string, string>, number][] = [
      ['/site-a/fhir/$export', { ...auth, prefer: 'respond-async' }, 400],
      ['/site-a/fhir/$export', { ...auth, accept: 'application/fhir+json' }, 400],
      ['/site-a/fhir/$export?_type=Patient,Spaceship', exportHeaders(token), 400],
      ['/site-a/fhir/$export?_since=yesterday', exportHeaders(token), 400],
      ['/site-a/fhir/$export?_outputFormat=text/csv', exportHeaders(token), 400],
      ['/site-a/fhir/Group/nope/$export', exportHeaders(token), 404],
      ['/site-a/fhir/$export', { accept: 'application/fhir+json', prefer: 'respond-async' }, 401],
    ];
    for (const [url, headers, status] of cases) {
      const res = await sim.app.inject({ url, headers });
      expect(res.statusCode, url).toBe(status);
      expect(res.json().resourceType, url).toBe('OperationOutcome');
    }
    expect(sim.counters().exportsStarted).toBe(0);
  });

  it('answers 202 with Retry-After and X-Progress until ready, then the manifest', async () => {
    sim = make({ export: { pollsBeforeReady: 3, retryAfterSeconds: 2 } });
    const token = await secretToken(sim);
    const kick = await sim.app.inject({ url: '/site-a/fhir/$export', headers: exportHeaders(token) });
    expect(kick.statusCode).toBe(202);
    const location = String(kick.headers['content-location']);
    expect(location).toMatch(/^http:\/\/localhost:80\/site-a\/fhir\/_bulk\/[0-9a-f-]{36}$/);
    const progress: string[] = [];
    let res = await sim.app.inject({ url: pathOf(location), headers: { authorization: `Bearer ${token}` } });
    for (let i = 0; i < 10 && res.statusCode === 202; i++) {
      expect(res.headers['retry-after']).toBe('2');
      progress.push(String(res.headers['x-progress']));
      await new Promise((resolve) => setImmediate(resolve));
      res = await sim.app.inject({ url: pathOf(location), headers: { authorization: `Bearer ${token}` } });
    }
    expect(progress).toEqual(['in-progress 25%', 'in-progress 50%', 'in-progress 75%']);
    expect(res.statusCode).toBe(200);
    const manifest = res.json<ExportManifest>();
    expect(manifest).toMatchObject({
      request: 'http://localhost:80/site-a/fhir/$export',
      requiresAccessToken: true,
      error: [],
    });
    expect(Date.parse(manifest.transactionTime)).not.toBeNaN();
    expect(manifest.deleted).toBeUndefined();
    expect(new Set(manifest.output.map((o) => o.type))).toEqual(new Set(RESOURCE_TYPES));
    expect(sim.counters().exportsStarted).toBe(1);
  });

  it('serves every live resource once, split by type and size, and requires the token', async () => {
    sim = make({ export: { maxResourcesPerFile: 25 } });
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient,Observation');
    expect(manifest.output.map((o) => o.type).sort()).toEqual([
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'Observation',
      'Patient',
      'Patient',
    ]);
    for (const type of ['Patient', 'Observation'] as const) {
      const files = manifest.output.filter((o) => o.type === type);
      const seen: string[] = [];
      for (const file of files) {
        expect(file.count).toBeLessThanOrEqual(25);
        const lines = await downloadLines(sim, token, file.url);
        expect(lines).toHaveLength(file.count);
        for (const line of lines) {
          const r = JSON.parse(line) as { resourceType: string; id: string };
          expect(r.resourceType).toBe(type);
          seen.push(`${type}/${r.id}`);
        }
      }
      expect(seen).toEqual(expectedIds(sim, type));
    }
    const first = manifest.output[0];
    if (first === undefined) throw new Error('no output');
    const anonymous = await sim.app.inject({ url: pathOf(first.url) });
    expect(anonymous.statusCode).toBe(401);
    expect(sim.counters().filesServed).toBe(7);
  });

  it('streams NDJSON with the FHIR content type and supports Range resume (206)', async () => {
    sim = make();
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Condition');
    const url = pathOf(manifest.output[0]?.url ?? '');
    const headers = { authorization: `Bearer ${token}` };
    const full = await sim.app.inject({ url, headers });
    expect(full.statusCode).toBe(200);
    expect(full.headers['content-type']).toMatch(/^application\/fhir\+ndjson/);
    expect(full.headers['accept-ranges']).toBe('bytes');
    const bytes = full.rawPayload;

    const middle = await sim.app.inject({ url, headers: { ...headers, range: 'bytes=100-1099' } });
    expect(middle.statusCode).toBe(206);
    expect(middle.headers['content-range']).toBe(`bytes 100-1099/${bytes.length}`);
    expect(middle.rawPayload.equals(bytes.subarray(100, 1100))).toBe(true);

    const rest = await sim.app.inject({
      url,
      headers: { ...headers, range: `bytes=${bytes.length - 500}-` },
    });
    expect(rest.statusCode).toBe(206);
    expect(rest.rawPayload.equals(bytes.subarray(bytes.length - 500))).toBe(true);

    const suffix = await sim.app.inject({ url, headers: { ...headers, range: 'bytes=-10' } });
    expect(suffix.rawPayload.equals(bytes.subarray(bytes.length - 10))).toBe(true);

    const beyond = await sim.app.inject({ url, headers: { ...headers, range: `bytes=${bytes.length}-` } });
    expect(beyond.statusCode).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${bytes.length}`);
  });

  it('with _since returns only resources updated since, plus deleted entries', async () => {
    sim = make();
    const token = await secretToken(sim);
    const sinceMs = Date.parse(SINCE);
    const { manifest } = await runExport(
      sim,
      token,
      `/site-a/fhir/$export?_type=Observation,Procedure&_since=${SINCE}`,
    );
    for (const type of ['Observation', 'Procedure'] as const) {
      const ids: string[] = [];
      for (const file of manifest.output.filter((o) => o.type === type)) {
        for (const line of await downloadLines(sim, token, file.url)) {
          const r = JSON.parse(line) as { id: string; meta: { lastUpdated: string } };
          expect(Date.parse(r.meta.lastUpdated)).toBeGreaterThanOrEqual(sinceMs);
          ids.push(`${type}/${r.id}`);
        }
      }
      const expected = expectedIds(sim, type, sinceMs);
      expect(ids).toEqual(expected);
      expect(expected.length).toBeLessThan(expectedIds(sim, type).length);
      expect(expected.length).toBeGreaterThan(0);
    }
    expect(manifest.deleted).toBeDefined();
    const deletedRefs: string[] = [];
    for (const file of manifest.deleted ?? []) {
      expect(file.type).toBe('Bundle');
      for (const line of await downloadLines(sim, token, file.url)) {
        const bundle = JSON.parse(line) as {
          resourceType: string;
          type: string;
          entry: { request: { method: string; url: string } }[];
        };
        expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
        expect(bundle.entry[0]?.request.method).toBe('DELETE');
        deletedRefs.push(bundle.entry[0]?.request.url ?? '');
      }
    }
    const expectedDeleted = [
      ...expectedIds(sim, 'Observation', sinceMs, true),
      ...expectedIds(sim, 'Procedure', sinceMs, true),
    ];
    expect(expectedDeleted.length).toBeGreaterThan(0);
    expect(deletedRefs).toEqual(expectedDeleted);
    const gone = await sim.app.inject({
      url: `/site-a/fhir/${deletedRefs[0]}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(gone.statusCode).toBe(410);
  });

  it('exports a Group and a Patient-level request', async () => {
    sim = make({ groups: [{ id: 'all' }, { id: 'first-ten', from: 0, to: 10 }] });
    const token = await secretToken(sim);
    const group = await runExport(sim, token, '/site-a/fhir/Group/first-ten/$export?_type=Patient,Encounter');
    const patients = await downloadLines(
      sim,
      token,
      group.manifest.output.find((o) => o.type === 'Patient')?.url ?? '',
    );
    expect(patients.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(
      Array.from({ length: 10 }, (_, i) => `pat-${i}`),
    );
    const encounters = await downloadLines(
      sim,
      token,
      group.manifest.output.find((o) => o.type === 'Encounter')?.url ?? '',
    );
    for (const line of encounters)
      expect(
        Number(
          (JSON.parse(line) as { subject: { reference: string } }).subject.reference.slice(
            'Patient/pat-'.length,
          ),
        ),
      ).toBeLessThan(10);
    const patientLevel = await runExport(sim, token, '/site-a/fhir/Patient/$export?_type=Patient');
    expect(patientLevel.manifest.output[0]?.count).toBe(40);
  });

  it('cancels with DELETE (202); later polls and files answer 404', async () => {
    sim = make();
    const token = await secretToken(sim);
    const auth = { authorization: `Bearer ${token}` };
    const { status, manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient');
    const cancel = await sim.app.inject({ method: 'DELETE', url: status, headers: auth });
    expect(cancel.statusCode).toBe(202);
    expect((await sim.app.inject({ url: status, headers: auth })).statusCode).toBe(404);
    expect(
      (await sim.app.inject({ url: pathOf(manifest.output[0]?.url ?? ''), headers: auth })).statusCode,
    ).toBe(404);
    expect((await sim.app.inject({ method: 'DELETE', url: status, headers: auth })).statusCode).toBe(404);

    const kick = await sim.app.inject({ url: '/site-a/fhir/$export', headers: exportHeaders(token) });
    const pending = pathOf(String(kick.headers['content-location']));
    expect((await sim.app.inject({ method: 'DELETE', url: pending, headers: auth })).statusCode).toBe(202);
    expect((await sim.app.inject({ url: pending, headers: auth })).statusCode).toBe(404);
  });

  it('expires files after the configured time (410) and forgets the status URL', async () => {
    const clock = fakeClock();
    sim = make({ now: clock.now, tokenLifetimeSeconds: 86_400, export: { fileTtlMs: 60_000 } });
    const token = await secretToken(sim);
    const auth = { authorization: `Bearer ${token}` };
    const { status, manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient');
    const file = pathOf(manifest.output[0]?.url ?? '');
    clock.advance(59_999);
    expect((await sim.app.inject({ url: file, headers: auth })).statusCode).toBe(200);
    clock.advance(1);
    expect((await sim.app.inject({ url: file, headers: auth })).statusCode).toBe(410);
    expect((await sim.app.inject({ url: status, headers: auth })).statusCode).toBe(404);
  });

  it('waits readyAfterMs before offering the manifest', async () => {
    const clock = fakeClock();
    sim = make({ now: clock.now, export: { pollsBeforeReady: 0, readyAfterMs: 5000 } });
    const token = await secretToken(sim);
    const kick = await sim.app.inject({
      url: '/site-a/fhir/$export?_type=Patient',
      headers: exportHeaders(token),
    });
    const status = pathOf(String(kick.headers['content-location']));
    const auth = { authorization: `Bearer ${token}` };
    await new Promise((resolve) => setImmediate(resolve));
    expect((await sim.app.inject({ url: status, headers: auth })).statusCode).toBe(202);
    clock.advance(5000);
    expect((await sim.app.inject({ url: status, headers: auth })).statusCode).toBe(200);
  });

  it('lists an OperationOutcome error file when the error knob is on', async () => {
    sim = make({ faults: { exportErrorFile: true } });
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient,Condition');
    expect(manifest.error).toHaveLength(1);
    expect(manifest.error[0]).toMatchObject({ type: 'OperationOutcome', count: 2 });
    const lines = await downloadLines(sim, token, manifest.error[0]?.url ?? '');
    expect(lines.map((l) => (JSON.parse(l) as { resourceType: string }).resourceType)).toEqual([
      'OperationOutcome',
      'OperationOutcome',
    ]);
  });

  it('validates the export fault knobs', () => {
    sim = make();
    expect(() => sim.setFaults({ failedExportTypes: ['Spaceship'] as unknown as ResourceType[] })).toThrow(
      /failedExportTypes/,
    );
    expect(() => sim.setFaults({ fileValidators: 'md5' as unknown as 'etag' })).toThrow(/fileValidators/);
    expect(() => sim.setFaults({ volatileFileBytes: 1 as unknown as boolean })).toThrow(/volatileFileBytes/);
    expect(sim.setFaults({ repeatResources: true, failedExportTypes: ['Condition'] })).toMatchObject({
      repeatResources: true,
      failedExportTypes: ['Condition'],
      fileValidators: 'etag',
    });
  });

  it('leaves out the output of failed types and lists one OperationOutcome per missing file', async () => {
    sim = make({ export: { maxResourcesPerFile: 50 }, faults: { failedExportTypes: ['Condition'] } });
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient,Condition');
    const conditions = expectedIds(sim, 'Condition').length;
    const missingFiles = Math.ceil(conditions / 50);
    expect(manifest.output.map((f) => f.type)).not.toContain('Condition');
    expect(manifest.output.some((f) => f.type === 'Patient')).toBe(true);
    expect(manifest.error).toEqual([
      expect.objectContaining({ type: 'OperationOutcome', count: missingFiles }),
    ]);
    const lines = await downloadLines(sim, token, manifest.error[0]?.url ?? '');
    const outcomes = lines.map((l) => JSON.parse(l) as { issue: { code: string; expression: string[] }[] });
    expect(outcomes.map((o) => [o.issue[0]?.code, o.issue[0]?.expression[0]])).toEqual(
      Array.from({ length: missingFiles }, () => ['exception', 'Condition']),
    );
  });

  it('lists resources twice when repeatResources is on: output file edges and grouped deletions', async () => {
    sim = make({ export: { maxResourcesPerFile: 5 }, faults: { repeatResources: true } });
    const token = await secretToken(sim);
    const since = Date.parse(SINCE);
    const { manifest } = await runExport(
      sim,
      token,
      `/site-a/fhir/$export?_type=Observation&_since=${SINCE}`,
    );
    const outputs = manifest.output.filter((f) => f.type === 'Observation');
    expect(outputs.length).toBeGreaterThan(1);
    const refs: string[] = [];
    for (const f of outputs) {
      const lines = await downloadLines(sim, token, f.url);
      expect(lines).toHaveLength(f.count);
      refs.push(...lines.map((l) => `Observation/${(JSON.parse(l) as { id: string }).id}`));
    }
    // Every file after the first starts with the last resource of the one before.
    expect(refs.length).toBe(expectedIds(sim, 'Observation', since).length + outputs.length - 1);
    expect(new Set(refs)).toEqual(new Set(expectedIds(sim, 'Observation', since)));

    const deleted: string[] = [];
    const forms = new Set<string>();
    for (const f of manifest.deleted ?? []) {
      const lines = await downloadLines(sim, token, f.url);
      expect(lines).toHaveLength(f.count);
      for (const line of lines) {
        const bundle = JSON.parse(line) as { entry: { request: { method: string; url: string } }[] };
        expect(bundle.entry.length).toBeGreaterThan(1);
        for (const { request } of bundle.entry) {
          expect(request.method).toBe('DELETE');
          forms.add(
            request.url.startsWith('http')
              ? 'absolute'
              : request.url.includes('/_history/')
                ? 'history'
                : 'relative',
          );
          const match = /(Observation\/[^/]+)(?:\/_history\/\d+)?$/.exec(request.url);
          deleted.push(match?.[1] ?? request.url);
        }
      }
    }
    const expectedDeleted = expectedIds(sim, 'Observation', since, true);
    expect(expectedDeleted.length).toBeGreaterThan(3);
    expect(forms).toEqual(new Set(['relative', 'absolute', 'history']));
    expect(new Set(deleted)).toEqual(new Set(expectedDeleted));
    // Each Bundle after the first repeats the last entry of the one before.
    expect(deleted.length).toBeGreaterThan(expectedDeleted.length);
  });
});
