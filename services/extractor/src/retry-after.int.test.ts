import { createSimulator } from '@ehrflow/ehr-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  capturingLogger,
  createIntStack,
  expectedRecords,
  recordExchanges,
  waitForEnd,
  type Exchange,
  type SiteSetup,
} from './testing/stack.ts';

// A 429 storm in each Retry-After form the simulator speaks. One incremental job with a
// concurrency of one sends strictly one request at a time, so the request after a 429 is its
// retry and the gap between them shows whether the wait was honoured: the backoff alone is at
// most 50 ms here and the limiter, even at its AIMD floor, refills a token in ~33 ms. (A backfill
// would not show it: after a 429 it waits for the limiter's incremental reserve — half a burst —
// to refill at the cut rate, 1 s growing to 10 s, which would hide an ignored Retry-After.)

const stack = createIntStack('ra');
const TYPES = ['Patient', 'Observation', 'Condition'] as const;
/** The extractor's Retry-After cap for these sources; the absurd form asks for 1000 days. */
const CAP_MS = 1_500;
/** Timer and clock slack on one machine. */
const TOLERANCE_MS = 50;

beforeAll(() => stack.setUp());
afterAll(() => stack.tearDown());

/** The wait a 429 asked for (at most the cap), measured from when the simulator answered it. */
function askedMs(exchange: Exchange, form: string): number {
  const header = exchange.retryAfter ?? '';
  let ms = Date.parse(header) - exchange.answeredAt;
  // The epoch form names a Unix time in whole seconds: it asks for less than it seems, by up to 1 s.
  if (form === 'epoch') ms = Number(header) * 1000 - exchange.answeredAt;
  else if (/^\d+$/.test(header)) ms = Number(header) * 1000;
  return Math.min(ms, CAP_MS);
}

describe.each(['seconds', 'http-date', 'absurd', 'epoch'] as const)('429s with Retry-After as %s', (form) => {
  it('waits as asked (capped when absurd) and completes the job with exact counts', async () => {
    const sim = createSimulator({
      seed: `ra-${form}-${stack.rid}`,
      sites: ['site-a'],
      patientsPerSite: 40,
      resourcesPerPatient: 1,
      clients: [stack.secretClient],
      // The EHR enforces 3 requests per second; the sources file publishes far more, so the
      // extractor runs into 429s whatever its AIMD does (its floor is 5% of 36 000/min).
      rateLimit: { limit: 3, windowMs: 1000, window: 'sliding' },
      faults: { retryAfter: form },
    });
    const exchanges = recordExchanges(sim);
    await sim.start(0);
    const site: SiteSetup = {
      site: 'site-a',
      sourceId: `ra-${form}-${stack.rid}`,
      clientId: stack.secretClient.clientId,
    };
    const logs = capturingLogger('ra', 'warn');
    const sources = stack.sourcesFile(sim, [site], {
      rateLimitPerMinute: 60_000,
      maxConcurrency: 1,
      retryAfterCapMs: CAP_MS,
      resourceTypes: [...TYPES],
      pageSize: 5,
    });
    const extractor = await stack.inProcess(
      stack.envFor(sources, { EXTRACTOR_RETRY_MAX_MS: '50', EXTRACTOR_HTTP_RETRIES: '20' }),
      { logger: logs.logger },
    );
    try {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'incremental' });
      // Bounded: with the absurd value honoured (or a 5-minute cap) this would time out.
      const final = await waitForEnd(extractor, job.id, 90_000);

      const expected = expectedRecords(sim, site.site, site.sourceId, { types: TYPES }).upserts;
      expect(final).toMatchObject({ state: 'completed', reason: null });
      expect(final.counts.produced).toBe(expected.size);
      expect(final.counts.read).toBe(final.counts.produced + final.counts.deleted + final.counts.errors);
      expect(final.counts.throttled).toBeGreaterThan(0);

      const { raw } = await stack.readBack(job.id, (r) => r.length >= expected.size);
      expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);

      // Token requests have their own path; the searches are one sequential stream.
      const stream = exchanges
        .filter((e) => !e.path.endsWith('/auth/token'))
        .sort((a, b) => a.arrivedAt - b.arrivedAt);
      const throttled = stream.filter((e) => e.status === 429);
      expect(throttled.length).toBeGreaterThanOrEqual(3);
      const headerShape = {
        seconds: /^\d+$/,
        'http-date': /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/,
        absurd: /^86400000$/,
        epoch: /^\d{10}$/,
      }[form];
      for (const e of throttled) expect(e.retryAfter).toMatch(headerShape);

      const gaps = throttled.map((e) => {
        const next = stream.find((x) => x.arrivedAt >= e.answeredAt && x !== e);
        return {
          asked: askedMs(e, form),
          gap: next === undefined ? Infinity : next.arrivedAt - e.answeredAt,
        };
      });
      for (const g of gaps) expect(g.gap).toBeGreaterThanOrEqual(g.asked - TOLERANCE_MS);
      // The check above must be able to fail: some 429s asked for clearly more than the backoff.
      expect(gaps.some((g) => g.asked >= 400)).toBe(true);

      const cappedWarnings = logs.lines.filter((l) => l.msg === 'Retry-After above the cap; capped');
      if (form === 'absurd') {
        expect(gaps.every((g) => g.asked === CAP_MS)).toBe(true);
        expect(cappedWarnings.length).toBeGreaterThan(0);
        expect(cappedWarnings.every((l) => l.retryAfterMs === CAP_MS && l.status === 429)).toBe(true);
      } else {
        // An epoch number is not an absurd wait of 56 years: it is read as the time it names.
        expect(cappedWarnings).toEqual([]);
      }
      const absolute = logs.lines.filter((l) => l.msg === 'Retry-After as an absolute time');
      if (form === 'epoch') expect(absolute.some((l) => l.form === 'epoch')).toBe(true);
    } finally {
      await extractor.close();
      await sim.stop();
    }
  });
});
