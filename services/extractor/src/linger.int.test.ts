import { createSimulator } from '@ehrflow/ehr-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntStack, expectedRecords, waitForEnd, type SiteSetup } from './testing/stack.ts';

// A slow link: the simulator serves 20 lines a second. With batches of 500 and a 100-line file,
// records would wait for the end of the file; EXTRACTOR_BATCH_LINGER_MS sends them on while the
// download is still running.

const stack = createIntStack('lg');

beforeAll(() => stack.setUp());
afterAll(() => stack.tearDown());

describe('batch linger on a slow link', () => {
  it('produces records while the file is still downloading, and every record once', async () => {
    const sim = createSimulator({
      seed: `lg-${stack.rid}`,
      sites: ['site-a'],
      patientsPerSite: 100,
      clients: [stack.secretClient],
      rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
      export: { maxResourcesPerFile: 1_000, pollsBeforeReady: 1, retryAfterSeconds: 1 },
      faults: { servedLinesPerSecond: 20 },
    });
    await sim.start(0);
    const site: SiteSetup = {
      site: 'site-a',
      sourceId: `lg-${stack.rid}`,
      clientId: stack.secretClient.clientId,
    };
    const sources = stack.sourcesFile(sim, [site], {
      rateLimitPerMinute: 60_000,
      resourceTypes: ['Patient'],
    });
    const extractor = await stack.inProcess(
      stack.envFor(sources, { EXTRACTOR_BATCH_SIZE: '500', EXTRACTOR_BATCH_LINGER_MS: '200' }),
    );
    try {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
      const expected = expectedRecords(sim, site.site, site.sourceId, { types: ['Patient'] }).upserts;
      // Snapshots of the job while it runs: produced records before the only file is done.
      const producedWhileDownloading = new Set<number>();
      for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
        const view = await extractor.jobs.get(job.id);
        if (view === undefined || (view.state !== 'running' && view.state !== 'pending')) break;
        if (view.parts.done === 0 && view.counts.produced > 0)
          producedWhileDownloading.add(view.counts.produced);
        await new Promise((r) => setTimeout(r, 25));
      }
      const final = await waitForEnd(extractor, job.id, 60_000);
      expect(final.state).toBe('completed');
      expect(final.counts.produced).toBe(expected.size);
      // Records went out before the file ended (its chunks arrive about 2 s apart).
      expect(producedWhileDownloading.size).toBeGreaterThanOrEqual(1);
      expect(Math.min(...producedWhileDownloading)).toBeLessThan(expected.size);

      const { raw } = await stack.readBack(job.id, (r) => r.length >= expected.size);
      expect(raw).toHaveLength(expected.size);
      expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
    } finally {
      await extractor.close();
      await sim.stop();
    }
  });
});
