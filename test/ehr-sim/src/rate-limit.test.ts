import { afterEach, describe, expect, it } from 'vitest';
import { ABSURD_RETRY_AFTER_SECONDS } from './faults.ts';
import { RATE_LIMIT_EXTENSION } from './fhir-routes.ts';
import { createSimulator, type Simulator } from './simulator.ts';
import { fakeClock, SECRET_CLIENT, secretToken } from './testing/export.ts';

describe('rate limit and counters', () => {
  let sim: Simulator;
  afterEach(async () => {
    await sim.stop();
  });

  it('publishes the limit in metadata and headers, then answers 429 with Retry-After in seconds', async () => {
    const clock = fakeClock();
    sim = createSimulator({
      patientsPerSite: 3,
      clients: [SECRET_CLIENT],
      now: clock.now,
      rateLimit: { limit: 5, windowMs: 10_000 },
    });
    const meta = await sim.app.inject({ url: '/site-a/fhir/metadata' });
    expect(meta.headers['x-ratelimit-limit']).toBe('5');
    const ext = meta
      .json<{ extension: { url: string; extension: unknown[] }[] }>()
      .extension.find((e) => e.url === RATE_LIMIT_EXTENSION);
    expect(ext?.extension).toEqual([
      { url: 'limit', valueInteger: 5 },
      { url: 'windowSeconds', valueDecimal: 10 },
      { url: 'window', valueCode: 'sliding' },
    ]);
    const token = await secretToken(sim);
    const headers = { authorization: `Bearer ${token}` };
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      clock.advance(1000);
      const res = await sim.app.inject({ url: '/site-a/fhir/Patient', headers });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) {
        // The oldest admitted request (t=1 s) leaves the 10 s window at t=11 s; now is t=6 s or 7 s.
        expect(Number(res.headers['retry-after'])).toBe(11 - (i + 1));
        expect(res.json().resourceType).toBe('OperationOutcome');
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    clock.advance(4000);
    expect((await sim.app.inject({ url: '/site-a/fhir/Patient', headers })).statusCode).toBe(200);
    const counters = sim.counters();
    expect(counters.rateLimited).toBe(2);
    expect(counters.clients[SECRET_CLIENT.clientId]).toMatchObject({ requests: 8, rateLimited: 2 });
  });

  it("keeps one budget per site: callers of one site do not use up another site's", async () => {
    const clock = fakeClock();
    sim = createSimulator({
      patientsPerSite: 3,
      sites: ['site-a', 'site-b'],
      now: clock.now,
      rateLimit: { limit: 2, windowMs: 60_000 },
    });
    const status = async (site: string): Promise<number> =>
      (await sim.app.inject({ url: `/${site}/fhir/metadata` })).statusCode;
    expect([await status('site-a'), await status('site-a'), await status('site-a')]).toEqual([200, 200, 429]);
    expect([await status('site-b'), await status('site-b'), await status('site-b')]).toEqual([200, 200, 429]);
  });

  it('answers Retry-After as an HTTP date or an absurd number when asked to', async () => {
    const clock = fakeClock(Date.UTC(2025, 5, 1, 12, 0, 0));
    sim = createSimulator({
      patientsPerSite: 3,
      now: clock.now,
      rateLimit: { limit: 1, windowMs: 60_000, window: 'fixed' },
    });
    await sim.app.inject({ url: '/site-a/fhir/metadata' });
    clock.advance(20_000);
    sim.setFaults({ retryAfter: 'http-date' });
    const dated = await sim.app.inject({ url: '/site-a/fhir/metadata' });
    expect(dated.statusCode).toBe(429);
    expect(dated.headers['retry-after']).toBe(new Date(Date.UTC(2025, 5, 1, 12, 1, 0)).toUTCString());
    const viaAdmin = await sim.app.inject({
      method: 'POST',
      url: '/_admin/faults',
      payload: { retryAfter: 'absurd' },
    });
    expect(viaAdmin.statusCode).toBe(200);
    const absurd = await sim.app.inject({ url: '/site-a/fhir/metadata' });
    expect(absurd.headers['retry-after']).toBe(String(ABSURD_RETRY_AFTER_SECONDS));
    sim.setFaults({ retryAfter: 'seconds' });
    expect((await sim.app.inject({ url: '/site-a/fhir/metadata' })).headers['retry-after']).toBe('40');
  });

  it.each(['sliding', 'fixed'] as const)(
    'enforces far less than it publishes, with a short constant Retry-After (%s window)',
    async (window) => {
      const clock = fakeClock(Date.UTC(2025, 5, 1, 12, 0, 0));
      sim = createSimulator({
        patientsPerSite: 3,
        clients: [SECRET_CLIENT],
        now: clock.now,
        rateLimit: { limit: 2, windowMs: 60_000, window, publishedLimit: 600, retryAfterHintSeconds: 3 },
      });
      const meta = await sim.app.inject({ url: '/site-a/fhir/metadata' });
      expect(meta.headers['x-ratelimit-limit']).toBe('600');
      const ext = meta
        .json<{ extension: { url: string; extension: { url: string; valueInteger?: number }[] }[] }>()
        .extension.find((e) => e.url === RATE_LIMIT_EXTENSION);
      expect(ext?.extension[0]).toEqual({ url: 'limit', valueInteger: 600 });
      const headers = { authorization: `Bearer ${await secretToken(sim)}` };
      // metadata (t=0) and the token request came from the anonymous caller; the client starts fresh.
      const statuses: string[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await sim.app.inject({ url: '/site-a/fhir/Patient', headers });
        statuses.push(
          res.statusCode === 429 ? `429:${String(res.headers['retry-after'])}` : String(res.statusCode),
        );
        clock.advance(3_000); // exactly what the hint asked for: still inside the 60 s window
      }
      expect(statuses).toEqual(['200', '200', '429:3', '429:3', '429:3', '429:3']);
      clock.advance(60_000);
      expect((await sim.app.inject({ url: '/site-a/fhir/Patient', headers })).statusCode).toBe(200);
    },
  );

  it('answers Retry-After as the Unix time of the retry when asked to (epoch form)', async () => {
    const clock = fakeClock(Date.UTC(2025, 5, 1, 12, 0, 0));
    sim = createSimulator({
      patientsPerSite: 3,
      now: clock.now,
      rateLimit: { limit: 1, windowMs: 60_000, window: 'fixed' },
      faults: { retryAfter: 'epoch' },
    });
    await sim.app.inject({ url: '/site-a/fhir/metadata' });
    clock.advance(20_000);
    const res = await sim.app.inject({ url: '/site-a/fhir/metadata' });
    expect(res.statusCode).toBe(429);
    expect(res.headers['retry-after']).toBe(String(Date.UTC(2025, 5, 1, 12, 1, 0) / 1000));
  });

  it('records the peak rate per client per second and per minute', async () => {
    const clock = fakeClock();
    sim = createSimulator({
      patientsPerSite: 3,
      clients: [SECRET_CLIENT],
      now: clock.now,
      rateLimit: { limit: 0 },
    });
    const headers = { authorization: `Bearer ${await secretToken(sim)}` };
    const burst = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await sim.app.inject({ url: '/site-a/fhir/metadata', headers });
    };
    await burst(4);
    clock.advance(500);
    await burst(3); // 7 within one second
    clock.advance(1500);
    await burst(2);
    clock.advance(30_000);
    await burst(5); // 14 within one minute
    clock.advance(61_000);
    await burst(1);
    const client = sim.counters().clients[SECRET_CLIENT.clientId];
    expect(client).toMatchObject({ requests: 15, peakPerSecond: 7, peakPerMinute: 14 });
    const admin = await sim.app.inject({ url: '/_admin/counters' });
    expect(admin.json()).toMatchObject({ peakPerSecond: 7, peakPerMinute: 14, tokensIssued: 1 });
    // The token request itself came from an anonymous caller.
    expect(Object.keys(admin.json<{ clients: object }>().clients)).toContain('ip:127.0.0.1');
    expect((await sim.app.inject({ method: 'POST', url: '/_admin/counters/reset' })).statusCode).toBe(204);
    expect(sim.counters()).toMatchObject({ requests: 0, peakPerSecond: 0, clients: {} });
  });

  it('injects 5xx bursts every Nth request', async () => {
    sim = createSimulator({
      patientsPerSite: 3,
      faults: { serverErrors: { every: 4, burst: 2, status: 503 } },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await sim.app.inject({ url: '/site-a/fhir/metadata' });
      statuses.push(res.statusCode);
      if (res.statusCode === 503) expect(res.headers['retry-after']).toBe('1');
    }
    expect(statuses).toEqual([200, 200, 200, 503, 503, 200, 200, 503, 503, 200]);
    expect(sim.counters().serverErrorsInjected).toBe(4);
  });
});
