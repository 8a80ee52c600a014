import { afterEach, describe, expect, it } from 'vitest';
import { ABSURD_RETRY_AFTER_SECONDS, FaultInjector } from './faults.ts';
import { createSimulator, type Simulator } from './simulator.ts';
import { downloadLines, exportHeaders, runExport, SECRET_CLIENT, secretToken } from './testing/export.ts';

describe('fault knobs', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim.stop();
  });

  const make = (extra: Parameters<typeof createSimulator>[0] = {}): Simulator =>
    createSimulator({
      seed: 'fault-test',
      patientsPerSite: 60,
      resourcesPerPatient: 2,
      clients: [SECRET_CLIENT],
      ...extra,
    });

  /** Token and manifest over a real socket, so connection-level faults are observable. */
  async function exportOverHttp(path: string): Promise<{ token: string; urls: string[] }> {
    const base = await sim.start();
    const tokenRes = await fetch(`${base}/site-a/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: SECRET_CLIENT.clientId,
        client_secret: SECRET_CLIENT.secret,
      }),
    });
    const token = ((await tokenRes.json()) as { access_token: string }).access_token;
    const kick = await fetch(`${base}${path}`, { headers: exportHeaders(token) });
    const status = kick.headers.get('content-location') ?? '';
    for (let i = 0; i < 20; i++) {
      const res = await fetch(status, { headers: { authorization: `Bearer ${token}` } });
      if (res.status === 200)
        return {
          token,
          urls: ((await res.json()) as { output: { url: string }[] }).output.map((o) => o.url),
        };
      await res.arrayBuffer();
      await new Promise((resolve) => setImmediate(resolve));
    }
    throw new Error('export never completed');
  }

  it('resets the connection in the middle of an NDJSON body', async () => {
    sim = make({ faults: { resetProbability: 1 } });
    const { token, urls } = await exportOverHttp('/site-a/fhir/$export?_type=Patient');
    const res = await fetch(urls[0] ?? '', { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    let received = 0;
    let failure: unknown;
    try {
      for (;;) {
        const chunk = await reader?.read();
        if (chunk === undefined || chunk.done) break;
        received += chunk.value.byteLength;
      }
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(Error);
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(60 * 1500);
    expect(sim.counters().resetsInjected).toBe(1);
  });

  it('resets a ranged (resumed) download too', async () => {
    sim = make({ faults: { resetProbability: 1 } });
    const { token, urls } = await exportOverHttp('/site-a/fhir/$export?_type=Patient');
    const res = await fetch(urls[0] ?? '', {
      headers: { authorization: `Bearer ${token}`, range: 'bytes=1000-' },
    });
    expect(res.status).toBe(206);
    await expect(res.arrayBuffer()).rejects.toThrow();
    expect(sim.counters().resetsInjected).toBe(1);
  });

  it('truncates a file in the middle of a line', async () => {
    sim = make({ faults: { truncateProbability: 1 } });
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient');
    const res = await sim.app.inject({
      url: new URL(manifest.output[0]?.url ?? '').pathname,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body.endsWith('\n')).toBe(false);
    const lines = res.body.split('\n');
    expect(lines.length).toBeLessThan(60);
    for (const line of lines.slice(0, -1)) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(() => JSON.parse(lines.at(-1) ?? '') as unknown).toThrow(SyntaxError);
    expect(sim.counters().truncationsInjected).toBe(1);
  });

  it('renames a field after N records of a type were served', async () => {
    sim = make({
      faults: {
        drift: { resourceType: 'Patient', after: 10, mode: 'rename', field: 'birthDate', to: 'dateOfBirth' },
      },
    });
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient,Observation');
    const patients = (
      await downloadLines(sim, token, manifest.output.find((o) => o.type === 'Patient')?.url ?? '')
    ).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(patients).toHaveLength(60);
    patients.forEach((p, i) => {
      expect('birthDate' in p, `record ${i}`).toBe(i < 10);
      expect('dateOfBirth' in p, `record ${i}`).toBe(i >= 10);
    });
    expect(patients[10]?.dateOfBirth).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const obs = await downloadLines(
      sim,
      token,
      manifest.output.find((o) => o.type === 'Observation')?.url ?? '',
    );
    expect(obs.every((l) => !l.includes('dateOfBirth'))).toBe(true);
    expect(sim.counters().driftedResources).toBe(50);
  });

  it('serves large resources of a type, chosen by id, the same bytes on every download', async () => {
    const bytes = 200_000;
    sim = make({ faults: { largeResources: { resourceType: 'Observation', every: 5, bytes } } });
    const token = await secretToken(sim);
    const { manifest } = await runExport(sim, token, '/site-a/fhir/$export?_type=Patient,Observation');
    const url = (type: string): string => manifest.output.find((o) => o.type === type)?.url ?? '';
    const first = await downloadLines(sim, token, url('Observation'));
    const large = first.filter((l) => Buffer.byteLength(l) > 10_000);
    // Every fifth id or so (by hash), each line exactly `bytes` long, still the same resource.
    expect(large.length).toBeGreaterThan(first.length / 10);
    expect(large.length).toBeLessThan(first.length / 2);
    for (const line of large) {
      expect(Buffer.byteLength(line)).toBe(bytes);
      const resource = JSON.parse(line) as { resourceType: string; text: { div: string } };
      expect(resource.resourceType).toBe('Observation');
      expect(resource.text.div).toMatch(/^<div xmlns="http:\/\/www.w3.org\/1999\/xhtml">/);
    }
    expect(await downloadLines(sim, token, url('Observation'))).toEqual(first);
    // Other types are left alone.
    expect(
      (await downloadLines(sim, token, url('Patient'))).every((l) => Buffer.byteLength(l) < 10_000),
    ).toBe(true);
    expect(sim.counters().largeResources).toBe(2 * large.length);
  });

  it('retypes a field after N records, also in search results, set through the admin API', async () => {
    sim = make();
    const token = await secretToken(sim);
    const set = await sim.app.inject({
      method: 'POST',
      url: '/_admin/faults',
      payload: { drift: { resourceType: 'Patient', after: 3, mode: 'retype', field: 'birthDate' } },
    });
    expect(set.statusCode).toBe(200);
    const res = await sim.app.inject({
      url: '/site-a/fhir/Patient?_count=6',
      headers: { authorization: `Bearer ${token}` },
    });
    const types = (res.json().entry as { resource: { birthDate: unknown } }[]).map(
      (e) => typeof e.resource.birthDate,
    );
    expect(types).toEqual(['string', 'string', 'string', 'number', 'number', 'number']);
    const raw = sim.generator.resource('site-a', 'Patient', 4).birthDate as string;
    expect((res.json().entry[4].resource as { birthDate: number }).birthDate).toBe(
      Number(raw.replaceAll('-', '')),
    );
  });

  it('validates faults posted to the admin API and clears them', async () => {
    sim = make();
    const bad = [
      { resetProbability: 2 },
      { retryAfter: 'never' },
      { drift: { resourceType: 'Spaceship', mode: 'rename', field: 'x', to: 'y' } },
      { bogus: 1 },
    ];
    for (const payload of bad) {
      const res = await sim.app.inject({ method: 'POST', url: '/_admin/faults', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
    }
    const ok = await sim.app.inject({
      method: 'POST',
      url: '/_admin/faults',
      payload: { latency: { fixedMs: 1 }, truncateProbability: 0.5 },
    });
    expect(ok.json()).toMatchObject({
      latency: { fixedMs: 1, randomMs: 0 },
      truncateProbability: 0.5,
      retryAfter: 'seconds',
    });
    expect((await sim.app.inject({ method: 'DELETE', url: '/_admin/faults' })).statusCode).toBe(204);
    expect((await sim.app.inject({ url: '/_admin/faults' })).json()).toMatchObject({
      latency: { fixedMs: 0 },
      truncateProbability: 0,
    });
  });

  it('throttles in bursts of 429 with the Retry-After form set, unpredicted by the published limit', async () => {
    sim = make();
    const set = await sim.app.inject({
      method: 'POST',
      url: '/_admin/faults',
      payload: { serverErrors: { every: 2, burst: 1, status: 429 }, retryAfter: 'absurd' },
    });
    expect(set.statusCode).toBe(200);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await sim.app.inject({ url: '/site-a/fhir/Patient' }));
    const throttled = answers.filter((res) => res.statusCode === 429);
    expect(throttled).toHaveLength(2);
    for (const res of throttled) expect(res.headers['retry-after']).toBe(String(ABSURD_RETRY_AFTER_SECONDS));
    const refused = await sim.app.inject({
      method: 'POST',
      url: '/_admin/faults',
      payload: { serverErrors: { status: 404 } },
    });
    expect(refused.statusCode).toBe(400);
  });

  it('revokes clients listed in a fault change', async () => {
    sim = make();
    const token = await secretToken(sim);
    sim.setFaults({ revoke: [SECRET_CLIENT.clientId] });
    expect(
      (await sim.app.inject({ url: '/site-a/fhir/Patient', headers: { authorization: `Bearer ${token}` } }))
        .statusCode,
    ).toBe(401);
  });

  it('delays requests by the latency knob and status polls by the slow-polling knob', async () => {
    sim = make({ faults: { latency: { fixedMs: 60, randomMs: 0 } } });
    const token = await secretToken(sim);
    // Lower bounds only: a sleep never ends early, so these cannot flake on a slow machine.
    let started = performance.now();
    expect((await sim.app.inject({ url: '/site-a/fhir/metadata' })).statusCode).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(55);
    sim.setFaults({ latency: { fixedMs: 0 }, statusPollDelayMs: 80 });
    const kick = await sim.app.inject({
      url: '/site-a/fhir/$export?_type=Patient',
      headers: exportHeaders(token),
    });
    started = performance.now();
    const poll = await sim.app.inject({
      url: new URL(String(kick.headers['content-location'])).pathname,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(poll.statusCode).toBe(202);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('draws latency and file faults from the seed', () => {
    const a = new FaultInjector('same', {
      latency: { fixedMs: 10, randomMs: 50 },
      resetProbability: 0.3,
      truncateProbability: 0.3,
    });
    const b = new FaultInjector('same', {
      latency: { fixedMs: 10, randomMs: 50 },
      resetProbability: 0.3,
      truncateProbability: 0.3,
    });
    const draws = (f: FaultInjector): unknown[] =>
      Array.from({ length: 50 }, () => [f.latencyMs(), f.fileFault()?.kind]);
    const da = draws(a);
    expect(da).toEqual(draws(b));
    for (const [latency] of da as [number][]) expect(latency >= 10 && latency < 60).toBe(true);
    const kinds = new Set(da.map((d) => (d as unknown[])[1]));
    expect(kinds).toEqual(new Set(['reset', 'truncate', undefined]));
  });
});
