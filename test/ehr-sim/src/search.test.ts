import { afterEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from './simulator.ts';
import { pathOf, SECRET_CLIENT, secretToken } from './testing/export.ts';

interface Bundle {
  resourceType: string;
  type: string;
  total?: number;
  link: { relation: string; url: string }[];
  entry: {
    fullUrl: string;
    resource: { id: string; meta: { lastUpdated: string } };
    search: { mode: string };
  }[];
}

describe('search with paging', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim.stop();
  });

  const make = (): Simulator =>
    createSimulator({
      seed: 'search-test',
      patientsPerSite: 30,
      resourcesPerPatient: 4,
      deletedFraction: 0.1,
      clients: [SECRET_CLIENT],
    });

  it('pages through _lastUpdated=gt results with next links, without duplicates or empty pages', async () => {
    sim = make();
    const token = await secretToken(sim);
    const since = '2024-07-01T00:00:00Z';
    let url: string | undefined = `/site-a/fhir/Observation?_lastUpdated=gt${since}&_count=7`;
    const ids: string[] = [];
    let pages = 0;
    while (url !== undefined && pages < 100) {
      const res: { statusCode: number; headers: Record<string, unknown>; json: <T>() => T } =
        await sim.app.inject({ url, headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
      const bundle = res.json<Bundle>();
      expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
      expect(bundle.entry.length).toBeGreaterThan(0);
      expect(bundle.entry.length).toBeLessThanOrEqual(7);
      for (const e of bundle.entry) {
        expect(Date.parse(e.resource.meta.lastUpdated)).toBeGreaterThan(Date.parse(since));
        expect(e.fullUrl).toBe(`http://localhost:80/site-a/fhir/Observation/${e.resource.id}`);
        expect(e.search.mode).toBe('match');
        ids.push(e.resource.id);
      }
      const next: { url: string } | undefined = bundle.link.find((l) => l.relation === 'next');
      url = next === undefined ? undefined : pathOf(next.url);
      pages++;
    }
    expect(url).toBeUndefined();
    const layout = sim.generator.layout('site-a');
    const expected: string[] = [];
    for (let i = 0; i < layout.count('Observation'); i++) {
      const meta = layout.meta('Observation', i);
      if (!meta.deleted && meta.lastUpdatedMs > Date.parse(since)) expected.push(`obs-${i}`);
    }
    expect(ids).toEqual(expected);
    expect(pages).toBe(Math.ceil(expected.length / 7));
  });

  it('honours ranges, _total=accurate, and rejects a malformed filter', async () => {
    sim = make();
    const headers = { authorization: `Bearer ${await secretToken(sim)}` };
    const res = await sim.app.inject({
      url: '/site-a/fhir/Condition?_lastUpdated=ge2024-03-01T00:00:00Z&_lastUpdated=lt2024-06-01T00:00:00Z&_count=1000&_total=accurate',
      headers,
    });
    const bundle = res.json<Bundle>();
    expect(bundle.total).toBe(bundle.entry.length);
    expect(bundle.entry.length).toBeGreaterThan(0);
    for (const e of bundle.entry) {
      const t = Date.parse(e.resource.meta.lastUpdated);
      expect(t >= Date.parse('2024-03-01T00:00:00Z') && t < Date.parse('2024-06-01T00:00:00Z')).toBe(true);
    }
    expect(
      (await sim.app.inject({ url: '/site-a/fhir/Condition?_lastUpdated=2024-01-01', headers })).statusCode,
    ).toBe(400);
    expect((await sim.app.inject({ url: '/site-a/fhir/Condition?_count=-1', headers })).statusCode).toBe(400);
    expect((await sim.app.inject({ url: '/site-a/fhir/Spaceship', headers })).statusCode).toBe(404);
  });

  it('reads single resources and needs a token for FHIR data but not for metadata', async () => {
    sim = make();
    const headers = { authorization: `Bearer ${await secretToken(sim)}` };
    const read = await sim.app.inject({ url: '/site-a/fhir/Patient/pat-3', headers });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(JSON.parse(JSON.stringify(sim.generator.resource('site-a', 'Patient', 3))));
    expect(read.headers.etag).toMatch(/^W\/"\d+"$/);
    expect((await sim.app.inject({ url: '/site-a/fhir/Patient/pat-30', headers })).statusCode).toBe(404);
    expect((await sim.app.inject({ url: '/site-a/fhir/Patient/pat-3' })).statusCode).toBe(401);
    expect((await sim.app.inject({ url: '/site-a/fhir/Patient' })).statusCode).toBe(401);
    expect((await sim.app.inject({ url: '/site-a/fhir/metadata' })).statusCode).toBe(200);
    expect((await sim.app.inject({ url: '/site-z/fhir/metadata' })).statusCode).toBe(404);
    const smart = await sim.app.inject({ url: '/site-b/fhir/.well-known/smart-configuration' });
    expect(smart.json().token_endpoint).toBe('http://localhost:80/site-b/auth/token');
  });
});
