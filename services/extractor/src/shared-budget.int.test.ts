import { createSimulator } from '@ehrflow/ehr-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForValue } from '@ehrflow/testing';
import { createExtractorMetrics, type ExtractorMetrics } from './metrics.ts';
import {
  createIntStack,
  expectedRecords,
  recordExchanges,
  waitForEnd,
  type SiteSetup,
} from './testing/stack.ts';

// One source's rate budget is shared through Redis by every replica and every job: two replicas
// together stay within it, and an incremental job is served before a running backfill.

const stack = createIntStack('rb');

beforeAll(() => stack.setUp());
afterAll(() => stack.tearDown());

describe('two replicas on one source', () => {
  it('share one budget: the EHR never sees more than limit × headroom (+ one burst)', async () => {
    const types = ['Patient', 'Observation', 'Condition'] as const;
    const sim = createSimulator({
      seed: `rb-${stack.rid}`,
      sites: ['site-a'],
      patientsPerSite: 60,
      resourcesPerPatient: 1,
      clients: [stack.secretClient],
      // The EHR does not enforce anything here: what it sees is the extractor's own discipline.
      rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
      export: { maxResourcesPerFile: 5, pollsBeforeReady: 1, retryAfterSeconds: 1 },
    });
    const exchanges = recordExchanges(sim);
    await sim.start(0);
    const site: SiteSetup = {
      site: 'site-a',
      sourceId: `rb-${stack.rid}`,
      clientId: stack.secretClient.clientId,
    };
    // Budget 600 × 0.5 = 300/min = 5/s; the bucket holds one second of it (5 tokens).
    const env = stack.envFor(
      stack.sourcesFile(sim, [site], { rateLimitPerMinute: 600, headroom: 0.5, resourceTypes: [...types] }),
    );
    const replicas = [await stack.inProcess(env), await stack.inProcess(env)];
    try {
      const jobs = await Promise.all(
        replicas.map((r) => r.jobs.start({ source: site.sourceId, kind: 'backfill' })),
      );
      const finals = await Promise.all(replicas.map((r, i) => waitForEnd(r, jobs[i]!.id, 90_000)));

      const expected = expectedRecords(sim, site.site, site.sourceId, { types }).upserts;
      for (const final of finals) {
        expect(final).toMatchObject({ state: 'completed', counts: { produced: expected.size } });
      }
      // Both replicas worked at the same time (each job ran while the other was running).
      const [a, b] = finals as [(typeof finals)[0], (typeof finals)[0]];
      expect(Date.parse(a.createdAt)).toBeLessThan(Date.parse(b.updatedAt));
      expect(Date.parse(b.createdAt)).toBeLessThan(Date.parse(a.updatedAt));

      const client = sim.counters().clients[stack.secretClient.clientId];
      const sent = exchanges.filter((e) => !e.path.endsWith('/auth/token'));
      expect(client?.requests).toBe(sent.length);
      // Tolerance: +2 requests for the gap between a grant (Redis clock) and arrival at the EHR.
      // In any second: the bucket (5) plus one second of refill (5).
      expect(client?.peakPerSecond).toBeLessThanOrEqual(5 + 5 + 2);
      expect(client?.peakPerMinute).toBeLessThanOrEqual(300 + 5 + 2);
      // Over the whole run: one bucket plus the budget for the time it took. Unshared budgets
      // would send about twice as much.
      const spanSeconds =
        (Math.max(...sent.map((e) => e.arrivedAt)) - Math.min(...sent.map((e) => e.arrivedAt))) / 1000;
      expect(spanSeconds).toBeGreaterThan(5);
      expect(sent.length).toBeLessThanOrEqual(5 + 5 * spanSeconds + 2);
    } finally {
      for (const r of replicas) await r.close();
      await sim.stop();
    }
  });
});

describe('priorities on one source', () => {
  async function grants(
    metrics: ExtractorMetrics,
    sourceId: string,
  ): Promise<{ incremental: number; backfill: number }> {
    const metric = await metrics.service.registry
      .getSingleMetric('ehrflow_extractor_limiter_grants_total')
      ?.get();
    const value = (priority: string): number =>
      metric?.values.find((v) => v.labels.source === sourceId && v.labels.priority === priority)?.value ?? 0;
    return { incremental: value('incremental'), backfill: value('backfill') };
  }

  it('serves an incremental job before the backfill running on the same source', async () => {
    const sim = createSimulator({
      seed: `pr-${stack.rid}`,
      sites: ['site-a'],
      patientsPerSite: 100,
      clients: [stack.secretClient],
      rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
      export: { maxResourcesPerFile: 10, pollsBeforeReady: 1, retryAfterSeconds: 1 },
    });
    await sim.start(0);
    const site: SiteSetup = {
      site: 'site-a',
      sourceId: `pr-${stack.rid}`,
      clientId: stack.secretClient.clientId,
    };
    // Budget 200 × 0.6 = 120/min = 2/s: the backfill (~40 files) needs about 20 s of it.
    const sources = stack.sourcesFile(sim, [site], {
      rateLimitPerMinute: 200,
      headroom: 0.6,
      pageSize: 20,
      resourceTypes: ['Patient', 'Observation', 'Condition'],
    });
    const metrics = createExtractorMetrics();
    const extractor = await stack.inProcess(stack.envFor(sources), { metrics });
    try {
      const backfill = await extractor.jobs.start({
        source: site.sourceId,
        kind: 'backfill',
        types: ['Observation', 'Condition'],
      });
      await waitForValue(
        async () => (((await extractor.jobs.get(backfill.id))?.parts.done ?? 0) >= 2 ? true : undefined),
        { what: 'the backfill downloading', timeoutMs: 30_000 },
      );
      const before = await grants(metrics, site.sourceId);
      const incremental = await extractor.jobs.start({
        source: site.sourceId,
        kind: 'incremental',
        types: ['Patient'],
        since: '2020-01-01T00:00:00Z',
      });
      const done = await waitForEnd(extractor, incremental.id, 30_000);
      const after = await grants(metrics, site.sourceId);
      const backfillView = await extractor.jobs.get(backfill.id);

      expect(done).toMatchObject({
        state: 'completed',
        counts: { produced: 100 },
        parts: { done: 1, total: 1 },
      });
      // The incremental job finished while the backfill was still running, not after it.
      expect(backfillView?.state).toBe('running');
      expect(backfillView?.parts.done).toBeLessThan(backfillView?.parts.total ?? 0);
      // 100 patients in pages of 20: five searches, all granted while the backfill waited. With
      // fair sharing the backfill's workers would have taken most grants of that window.
      const incrementalGrants = after.incremental - before.incremental;
      const backfillGrants = after.backfill - before.backfill;
      expect(incrementalGrants).toBeGreaterThanOrEqual(5);
      expect(backfillGrants).toBeLessThanOrEqual(2);

      await extractor.jobs.cancel(backfill.id);
      expect((await waitForEnd(extractor, backfill.id, 30_000)).state).toBe('cancelled');
    } finally {
      await extractor.close();
      await sim.stop();
    }
  });
});
