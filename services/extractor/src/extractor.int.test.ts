import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RawEnvelope } from '@ehrflow/contracts';
import { createSimulator, resourceId, type Simulator } from '@ehrflow/ehr-sim';
import { recordIdOf } from '@ehrflow/fhir';
import { decryptPayload } from '@ehrflow/phi';
import { freePort, waitForValue } from '@ehrflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Extractor } from './app.ts';
import type { JobView } from './job-view.ts';
import { createIntStack, expectedRecords, type SiteSetup } from './testing/stack.ts';

// Integration tests against the real local stack and the EHR simulator (in process, port 0).
// Isolation: unique raw/jobs topics (their subjects registered with the ehr.raw / ehr.jobs
// schemas), a unique PostgreSQL schema, unique source ids (Redis keys) per run.

const stack = createIntStack('extractor');
const { rid, keyring, secretClient } = stack;
const sourcesFile = stack.sourcesFile.bind(stack);
const envFor = stack.envFor.bind(stack);
const readBack = stack.readBack.bind(stack);
const inProcess = (env: Record<string, string>) => stack.inProcess(env);

beforeAll(() => stack.setUp());
afterAll(() => stack.tearDown());

/** Record ids of every live (non-deleted) resource of a site, as the extractor must produce them. */
const expectedIds = (sim: Simulator, site: string, sourceId: string): Set<string> =>
  expectedRecords(sim, site, sourceId).upserts;

describe('backfill across two sites with short tokens, a strict rate limit and a flaky network', () => {
  let sim: Simulator;
  let extractor: Extractor | undefined;

  beforeAll(async () => {
    sim = createSimulator({
      seed: `bf-${rid}`,
      patientsPerSite: 150,
      resourcesPerPatient: 2,
      clients: [secretClient, stack.jwtClient],
      tokenLifetimeSeconds: 5,
      // Stricter than the 300/min the sources file publishes: the EHR enforces 3 per second.
      rateLimit: { limit: 3, windowMs: 1000, window: 'sliding' },
      export: { maxResourcesPerFile: 150, pollsBeforeReady: 2, retryAfterSeconds: 1 },
      faults: {
        latency: { fixedMs: 50, randomMs: 50 },
        resetProbability: 0.15,
        truncateProbability: 0.15,
        serverErrors: { every: 20, burst: 1, status: 503 },
      },
    });
    await sim.start(0);
  });

  afterAll(async () => {
    await extractor?.close();
    await sim.stop();
  });

  it('completes both jobs with every resource produced exactly once, within the rate budget', async () => {
    const sites: SiteSetup[] = [
      { site: 'site-a', sourceId: `a-${rid}`, clientId: secretClient.clientId },
      { site: 'site-b', sourceId: `b-${rid}`, clientId: stack.jwtClient.clientId },
    ];
    extractor = await inProcess(envFor(sourcesFile(sim, sites, { rateLimitPerMinute: 300, headroom: 0.6 })));
    const started = await Promise.all(
      sites.map((s) => extractor!.jobs.start({ source: s.sourceId, kind: 'backfill' })),
    );
    const finals = await Promise.all(started.map((j) => extractor!.jobs.wait(j.id)));

    for (const [i, final] of finals.entries()) {
      const site = sites[i] as SiteSetup;
      expect(final, `job of ${site.site}`).toMatchObject({ state: 'completed', reason: null });
      const expected = expectedIds(sim, site.site, site.sourceId);
      expect(final.counts.produced).toBe(expected.size);
      expect(final.counts.read).toBe(final.counts.produced + final.counts.deleted + final.counts.errors);
      expect(final.counts.tokenRefreshes).toBeGreaterThan(1);

      const { raw, events } = await readBack(
        final.id,
        (r, e) => r.length >= expected.size && e.some((x) => x.state === 'completed'),
      );
      const ids = raw.map((r) => r.recordId);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(ids)).toEqual(expected);
      expect(
        raw.every(
          (r) => r.sourceId === site.sourceId && r.kind === 'UPSERT' && r.keyId === keyring.activeKid,
        ),
      ).toBe(true);
      const sample = JSON.parse(
        decryptPayload(keyring, (raw[0] as RawEnvelope).payload).toString('utf8'),
      ) as { id: string };
      expect(typeof sample.id).toBe('string');
      expect(events.map((e) => e.state)).toEqual(expect.arrayContaining(['running', 'completed']));
      expect(events.at(-1)?.counts.produced).toBe(expected.size);
    }

    const counters = sim.counters();
    expect(counters.rateLimited).toBeGreaterThan(0);
    expect(counters.resetsInjected + counters.truncationsInjected).toBeGreaterThan(0);
    expect(counters.tokensIssued).toBeGreaterThan(2);
    expect(finals.some((f) => f.counts.throttled > 0)).toBe(true);
    // Budget 300 × 0.6 = 180/min = 3/s with a bucket of 3: at most 3 + 3 requests in any second
    // (the bucket's burst plus one second of refill), and never more than 180 in a minute.
    for (const s of sites) {
      const client = counters.clients[s.clientId];
      expect(client?.peakPerSecond).toBeLessThanOrEqual(6);
      expect(client?.peakPerMinute).toBeLessThanOrEqual(180);
    }
  });
});

describe('incremental sync', () => {
  it('pages through _lastUpdated > since, produces every newer resource and stores the watermark', async () => {
    const sim = createSimulator({
      seed: `in-${rid}`,
      sites: ['site-a'],
      patientsPerSite: 60,
      clients: [secretClient],
    });
    await sim.start(0);
    const site: SiteSetup = { site: 'site-a', sourceId: `i-${rid}`, clientId: secretClient.clientId };
    const extractor = await inProcess(
      envFor(
        sourcesFile(sim, [site], {
          rateLimitPerMinute: 6000,
          pageSize: 25,
          resourceTypes: ['Patient', 'Observation'],
        }),
      ),
    );
    try {
      const since = '2024-07-01T00:00:00Z';
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'incremental', since });
      const final = await extractor.jobs.wait(job.id);
      const expected = new Set<string>();
      let newest = 0;
      for (const type of ['Patient', 'Observation'] as const) {
        for (let i = 0; i < sim.generator.layout('site-a').count(type); i++) {
          const meta = sim.generator.meta('site-a', type, i);
          if (meta.deleted || meta.lastUpdatedMs <= Date.parse(since)) continue;
          expected.add(recordIdOf(site.sourceId, type, resourceId(type, i), String(meta.versionId)));
          newest = Math.max(newest, meta.lastUpdatedMs);
        }
      }
      expect(final).toMatchObject({ state: 'completed', parts: { done: 2, total: 2 } });
      expect(final.counts.produced).toBe(expected.size);
      const { raw } = await readBack(job.id, (r) => r.length >= expected.size);
      expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
      expect(raw.some((r) => r.sourceLocator.startsWith('search Observation page 2 '))).toBe(true);
      const marks = await extractor.store.watermarks(site.sourceId);
      expect(Date.parse(marks.get('Observation') ?? '')).toBeLessThanOrEqual(newest);
      expect(Date.parse(marks.get('Observation') ?? '')).toBeGreaterThan(Date.parse(since));
    } finally {
      await extractor.close();
      await sim.stop();
    }
  });
});

describe('credentials revoked mid-job', () => {
  it('fails the job with reason auth and never completes it', async () => {
    const sim = createSimulator({
      seed: `rv-${rid}`,
      sites: ['site-a'],
      patientsPerSite: 100,
      clients: [secretClient],
      export: { maxResourcesPerFile: 40, pollsBeforeReady: 1, retryAfterSeconds: 1 },
      faults: { latency: { fixedMs: 150, randomMs: 0 } },
    });
    await sim.start(0);
    const site: SiteSetup = { site: 'site-a', sourceId: `r-${rid}`, clientId: secretClient.clientId };
    const extractor = await inProcess(
      envFor(sourcesFile(sim, [site], { rateLimitPerMinute: 6000, maxConcurrency: 1 })),
    );
    try {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
      await waitForValue(
        async () => ((await extractor.jobs.get(job.id))?.counts.produced ?? 0) > 0 || undefined,
        { what: 'first envelopes', timeoutMs: 30_000 },
      );
      sim.revoke(secretClient.clientId);
      const final = await extractor.jobs.wait(job.id);
      expect(final).toMatchObject({ state: 'failed', reason: 'auth', errorCode: 'AUTH_REJECTED' });
      expect(final.parts.done).toBeLessThan(final.parts.total);
      expect((await extractor.store.get(job.id))?.state).toBe('failed');
      const { events } = await readBack(job.id, (_r, e) => e.some((x) => x.state === 'failed'));
      expect(events.some((e) => e.state === 'completed')).toBe(false);
      expect(events.find((e) => e.state === 'failed')?.reason).toBe('auth');
    } finally {
      sim.registerClient(secretClient);
      await extractor.close();
      await sim.stop();
    }
  });
});

describe('credentials revoked before the export is ready, then reinstated', () => {
  it('fails the job with reason auth; resumed, it reads every file', async () => {
    // The fault suite's seed ehrflow-faults-ci:0: the revocation lands while the export is still
    // being prepared (status polls), the job fails before its first file, and is resumed.
    const sim = createSimulator({
      seed: `rb-${rid}`,
      sites: ['site-a'],
      patientsPerSite: 10,
      clients: [secretClient],
      export: { maxResourcesPerFile: 10, pollsBeforeReady: 3, retryAfterSeconds: 1 },
      faults: { servedLinesPerSecond: 40 },
    });
    await sim.start(0);
    const site: SiteSetup = { site: 'site-a', sourceId: `rb-${rid}`, clientId: secretClient.clientId };
    const extractor = await inProcess(
      envFor(sourcesFile(sim, [site], { rateLimitPerMinute: 6000, maxConcurrency: 4 })),
    );
    try {
      const job = await extractor.jobs.start({ source: site.sourceId, kind: 'backfill' });
      await waitForValue(async () => (await extractor.store.get(job.id))?.statusUrl, {
        what: 'the export kicked off',
        timeoutMs: 30_000,
      });
      sim.revoke(secretClient.clientId);
      const failed = await extractor.jobs.wait(job.id);
      expect(failed).toMatchObject({ state: 'failed', reason: 'auth', counts: { read: 0 } });
      sim.registerClient(secretClient);
      await extractor.jobs.resume(job.id);
      const done = await Promise.race([
        extractor.jobs.wait(job.id),
        new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 60_000).unref()),
      ]);
      const view = done ?? (await extractor.jobs.get(job.id));
      expect({ state: view?.state, read: view?.counts.read }).toEqual({
        state: 'completed',
        read: expectedIds(sim, 'site-a', site.sourceId).size,
      });
    } finally {
      sim.registerClient(secretClient);
      await extractor.close();
      await sim.stop();
    }
  });
});

describe('a final job event the previous process could not send', () => {
  it('is sent by the next process, stamped as the job latest event, and not again', async () => {
    const sim = createSimulator({ seed: `fe-${rid}`, sites: ['site-a'], patientsPerSite: 5 });
    await sim.start(0);
    const site: SiteSetup = { site: 'site-a', sourceId: `fe-${rid}`, clientId: secretClient.clientId };
    const extractor = await inProcess(envFor(sourcesFile(sim, [site], { rateLimitPerMinute: 6000 })));
    try {
      // What a process killed between its final state and Kafka's acknowledgement leaves behind.
      const id = `fe-job-${rid}`;
      const { store } = extractor;
      await store.create(
        { id, sourceId: site.sourceId, kind: 'backfill', resourceTypes: ['Patient'], since: undefined },
        'a-dead-process',
        60_000,
      );
      expect(await store.setState(id, 'a-dead-process', 'completed', null)).toBe(true);
      expect((await store.pendingFinalEvents(1000)).map((r) => r.id)).toContain(id);
      const { events } = await readBack(id, (_r, e) => e.some((x) => x.state === 'completed'));
      expect(events.filter((e) => e.state === 'completed')).toHaveLength(1);
      await waitForValue(
        async () => ((await store.pendingFinalEvents(1000)).some((r) => r.id === id) ? undefined : true),
        { what: 'the final event marked sent', timeoutMs: 10_000 },
      );
    } finally {
      await extractor.close();
      await sim.stop();
    }
  });
});

describe('kill -9 mid-backfill and restart', () => {
  const main = fileURLToPath(new URL('./main.ts', import.meta.url));
  const children: ChildProcess[] = [];

  afterAll(() => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  function startChild(env: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, [main], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    return child;
  }

  async function api(
    port: number,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<JobView | undefined> {
    try {
      const res = await fetch(`http://127.0.0.1:${port}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      return res.ok ? ((await res.json()) as JobView) : undefined;
    } catch {
      return undefined;
    }
  }

  it('resumes from the checkpoint: completes with no record missing and without reading everything again', async () => {
    const sim = createSimulator({
      seed: `kl-${rid}`,
      sites: ['site-a'],
      patientsPerSite: 200,
      clients: [secretClient],
      export: { maxResourcesPerFile: 100, pollsBeforeReady: 1, retryAfterSeconds: 1 },
      faults: { latency: { fixedMs: 200, randomMs: 0 } },
    });
    await sim.start(0);
    const site: SiteSetup = { site: 'site-a', sourceId: `k-${rid}`, clientId: secretClient.clientId };
    const port = await freePort();
    const env = envFor(sourcesFile(sim, [site], { rateLimitPerMinute: 6000, maxConcurrency: 2 }), {
      HTTP_PORT: String(port),
      EXTRACTOR_LEASE_MS: '1500',
      EXTRACTOR_BATCH_SIZE: '20',
    });
    try {
      const first = startChild(env);
      const job = await waitForValue(
        () => api(port, 'POST', '/jobs', { source: site.sourceId, kind: 'backfill' }),
        { what: 'the first extractor', timeoutMs: 30_000 },
      );
      const before = await waitForValue(
        async () => {
          const view = await api(port, 'GET', `/jobs/${job.id}`);
          return view !== undefined && view.parts.done >= 2 ? view : undefined;
        },
        { what: 'progress before the kill', timeoutMs: 60_000 },
      );
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const servedBefore = sim.counters().resourcesServed;
      expect(before.parts.done).toBeLessThan(before.parts.total);
      sim.resetCounters();

      startChild(env);
      const final = await waitForValue(
        async () => {
          const view = await api(port, 'GET', `/jobs/${job.id}`);
          return view !== undefined && view.state !== 'running' && view.state !== 'pending'
            ? view
            : undefined;
        },
        { what: 'the resumed job to finish', timeoutMs: 90_000 },
      );
      expect(final.state).toBe('completed');
      const expected = expectedIds(sim, site.site, site.sourceId);
      expect(final.counts.produced).toBe(expected.size);

      const after = sim.counters();
      // Resumed, not restarted: no new export, and far fewer resources served than the whole export.
      expect(after.exportsStarted).toBe(0);
      expect(after.resourcesServed).toBeLessThan(expected.size);
      expect(after.resourcesServed + servedBefore).toBeLessThan(expected.size * 2);

      const { raw } = await readBack(job.id, (r) => new Set(r.map((x) => x.recordId)).size >= expected.size);
      expect(new Set(raw.map((r) => r.recordId))).toEqual(expected);
    } finally {
      await sim.stop();
    }
  });
});
