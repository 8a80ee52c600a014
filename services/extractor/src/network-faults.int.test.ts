import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSimulator, RESOURCE_TYPES, type Simulator } from '@ehrflow/ehr-sim';
import {
  createFaultProxy,
  createNetLink,
  netnsSupport,
  openNetnsGateway,
  type FaultProxy,
  type NetLink,
  type NetnsGateway,
} from '@ehrflow/netfault';
import { waitForValue } from '@ehrflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Extractor } from './app.ts';
import type { JobView } from './job-view.ts';
import { createIntStack, expectedRecords, hasEnded, waitForEnd } from './testing/stack.ts';

// The EHR link as a VPN behaves, during a backfill at full concurrency (the pool of each job is
// full when the fault starts): latency with a bandwidth cap, resets mid-download, a link down for
// a while, a flapping link, a connection that accepts and never answers, and — in a network
// namespace, where the machine allows — real packet loss and tbf shaping. Every job must end
// `completed` with every record exactly once on the raw topic. The extractor runs with the
// product's retry settings; only the source's timeouts are shortened so a black hole costs seconds.
// NETFAULT_FULL=1 runs the full durations (link down 30 s); the default is CI-sized.

const FULL = process.env.NETFAULT_FULL === '1';
const LINK_DOWN_MS = FULL ? 30_000 : 6_000;
const FLAP_MS = FULL ? 30_000 : 8_000;
const HOLE_MS = FULL ? 20_000 : 8_000;
const LOSS_MS = FULL ? 60_000 : 20_000;
const SOURCE_TIMEOUTS = { connectTimeoutMs: 3_000, headersTimeoutMs: 4_000, bodyIdleTimeoutMs: 4_000 };
// A cap that keeps a backfill going for several seconds, so faults hit it mid-flight.
const BASE_BYTES_PER_SECOND = 300 * 1024;

const stack = createIntStack('nf');
const SITE = 'site-a';
let sim: Simulator;
let proxy: FaultProxy;
let simPort: number;
let expectedSize = 0;
const figures: string[] = [];

beforeAll(async () => {
  await stack.setUp();
  sim = createSimulator({
    seed: `nf-${stack.rid}`,
    sites: [SITE],
    patientsPerSite: 90,
    clients: [stack.secretClient],
    rateLimit: { limit: 0, windowMs: 1000, window: 'sliding' },
    export: { maxResourcesPerFile: 150, pollsBeforeReady: 1, retryAfterSeconds: 1 },
  });
  const url = await sim.start(0);
  simPort = Number(new URL(url).port);
  proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: simPort }, seed: `nf-${stack.rid}` });
});

afterAll(async () => {
  await proxy?.close();
  await sim?.stop();
  await stack.tearDown();
  if (figures.length > 0)
    console.info(`network faults (${FULL ? 'full' : 'CI'} durations):\n${figures.join('\n')}`);
});

/** A sources file whose one source reaches the simulator at `rewrite(url)`. */
function sourcesFile(sourceId: string, rewrite: (url: string) => string): string {
  const file = join(stack.dir, `sources-${randomUUID()}.json`);
  const source = {
    id: sourceId,
    baseUrl: rewrite(sim.fhirBase(SITE)),
    tokenUrl: rewrite(sim.tokenUrl(SITE)),
    clientId: stack.secretClient.clientId,
    auth: { method: 'secret', secretFile: 'client.secret' },
    resourceTypes: [...RESOURCE_TYPES],
    rateLimitPerMinute: 60_000,
    maxConcurrency: 4,
    ...SOURCE_TIMEOUTS,
  };
  writeFileSync(file, JSON.stringify({ sources: [source] }));
  return file;
}

function viaPort(port: number, host = '127.0.0.1'): (url: string) => string {
  return (url) => {
    const next = new URL(url);
    next.hostname = host;
    next.port = String(port);
    return next.toString().replace(/\/$/, '');
  };
}

interface Outcome {
  readonly view: JobView;
  /** From the fault's end to the next record produced (0 when records kept coming during it). */
  readonly recoveredMs: number;
  readonly durationMs: number;
}

/**
 * Backfills through `rewrite`; once `faultAt` of the records (default 15%) are produced, `inject`
 * runs (with a reader of the job's view) and resolves when its fault is over. Then the
 * job must complete and every record be on the raw topic once.
 */
async function backfillUnder(
  name: string,
  rewrite: (url: string) => string,
  inject: (progress: () => Promise<JobView | undefined>) => Promise<void>,
  faultAt = 0.15,
): Promise<Outcome> {
  const sourceId = `nf-${name}-${stack.rid}`;
  // Product retry settings (6 retries, backoff up to 30 s): what a deployment runs with.
  const env = stack.envFor(sourcesFile(sourceId, rewrite), {
    EXTRACTOR_HTTP_RETRIES: '6',
    EXTRACTOR_RETRY_MAX_MS: '30000',
    EXTRACTOR_BATCH_SIZE: '50',
  });
  const expected = expectedRecords(sim, SITE, sourceId).upserts;
  expectedSize = expected.size;
  let extractor: Extractor | undefined;
  try {
    extractor = await stack.inProcess(env);
    const started = Date.now();
    const job = await extractor.jobs.start({ source: sourceId, kind: 'backfill' });
    const produced = async (): Promise<number> => (await extractor?.jobs.get(job.id))?.counts.produced ?? 0;
    await waitForValue(async () => ((await produced()) >= expected.size * faultAt ? true : undefined), {
      what: `${name}: ${faultAt * 100}% of the records before the fault`,
      timeoutMs: 90_000,
    });
    await inject(async () => await extractor?.jobs.get(job.id));
    const faultEnded = Date.now();
    const atEnd = await produced();
    // Polled, not awaited on an event: the job's own counters are what recovery means.
    const recovered = await waitForValue(
      async () => {
        const view = await extractor?.jobs.get(job.id);
        if (view === undefined) return undefined;
        if (view.counts.produced > atEnd || view.state !== 'running') return Date.now();
        return undefined;
      },
      { what: `${name}: records after the fault`, timeoutMs: 180_000, intervalMs: 50 },
    );
    const view = await waitForEnd(extractor, job.id, 240_000);
    const durationMs = Date.now() - started;
    expect(view.state, `${name}: ${view.reason ?? ''} ${view.errorCode ?? ''}`).toBe('completed');
    expect(view.counts.produced).toBe(expected.size);
    const { raw } = await stack.readBack(
      job.id,
      (r) => r.length >= view.counts.produced && new Set(r.map((x) => x.recordId)).size >= expected.size,
    );
    const ids = raw.map((r) => r.recordId);
    // Nothing lost, nothing doubled.
    expect(new Set(ids)).toEqual(expected);
    expect(ids.length).toBe(expected.size);
    const recoveredMs = atEnd === 0 ? recovered - faultEnded : Math.max(0, recovered - faultEnded);
    figures.push(
      `  ${name.padEnd(22)} ${expected.size} records, ${Math.round(durationMs / 1000)} s, ` +
        `recovered ${recoveredMs} ms after the fault, ${view.counts.retries} retries`,
    );
    return { view, recoveredMs, durationMs };
  } finally {
    await extractor?.close();
  }
}

describe('extractor backfill through a faulty EHR link (TCP fault proxy)', () => {
  it('latency and a bandwidth cap: slower, nothing lost', async () => {
    const cap = proxy.apply({ kind: 'bandwidth', bytesPerSecond: BASE_BYTES_PER_SECOND }, 300_000);
    try {
      await backfillUnder('latency-bandwidth', viaPort(proxy.port), async () => {
        await proxy.apply({ kind: 'latency', ms: 120, jitterMs: 60 }, 5_000).ended;
      });
      expect(proxy.counters().peakActive).toBeGreaterThanOrEqual(4);
    } finally {
      cap.stop();
    }
  });

  it('connections reset mid-download: resumed with Range, nothing lost or doubled', async () => {
    const cap = proxy.apply({ kind: 'bandwidth', bytesPerSecond: BASE_BYTES_PER_SECOND }, 300_000);
    const before = proxy.counters().resets;
    try {
      const { view } = await backfillUnder(
        'resets',
        viaPort(proxy.port),
        async (progress) => {
          // From the job's start (its downloads take several seconds at the cap), at least 6 s of
          // resets and until one happened. Applied in 2 s rounds: each round draws anew for the
          // connections open then (a pooled keep-alive connection that drew "no reset" once would
          // otherwise carry the rest of the export untouched). A job with nothing left to
          // download can meet no reset: that is said, not waited out.
          const since = Date.now();
          while (!(proxy.counters().resets > before && Date.now() - since >= 6_000)) {
            const view = await progress();
            if (proxy.counters().resets === before && view !== undefined && hasEnded(view))
              throw new Error(`the job ended (${view.state}) before the proxy reset any connection`);
            if (Date.now() - since > 90_000) throw new Error('no connection reset by the proxy within 90 s');
            await proxy.apply(
              { kind: 'reset', probability: 0.5, afterBytes: 2_000, afterBytesJitter: 60_000 },
              2_000,
            ).ended;
          }
        },
        0,
      );
      expect(proxy.counters().resets - before).toBeGreaterThan(0);
      expect(view.counts.retries).toBeGreaterThan(0);
    } finally {
      cap.stop();
    }
  });

  it(`link down for ${LINK_DOWN_MS / 1000} s (refused, open connections reset): the job waits it out`, async () => {
    const cap = proxy.apply({ kind: 'bandwidth', bytesPerSecond: BASE_BYTES_PER_SECOND }, 300_000);
    try {
      const { view } = await backfillUnder('link-down', viaPort(proxy.port), async () => {
        await proxy.apply({ kind: 'down' }, LINK_DOWN_MS).ended;
      });
      expect(view.counts.retries).toBeGreaterThan(0);
    } finally {
      cap.stop();
    }
  });

  it('a flapping link', async () => {
    const cap = proxy.apply({ kind: 'bandwidth', bytesPerSecond: BASE_BYTES_PER_SECOND }, 300_000);
    try {
      await backfillUnder('flapping', viaPort(proxy.port), async () => {
        await proxy.apply({ kind: 'flap', downMs: 1_500, upMs: 2_000 }, FLAP_MS).ended;
      });
    } finally {
      cap.stop();
    }
  });

  it('accepts and never answers (open connections stall too): the timeouts fire and the job resumes', async () => {
    const cap = proxy.apply({ kind: 'bandwidth', bytesPerSecond: BASE_BYTES_PER_SECOND }, 300_000);
    const held = proxy.counters().held;
    try {
      const { view } = await backfillUnder('black-hole', viaPort(proxy.port), async () => {
        await proxy.apply({ kind: 'blackhole', existing: true }, HOLE_MS).ended;
      });
      expect(proxy.counters().held - held).toBeGreaterThan(0);
      expect(view.counts.retries).toBeGreaterThan(0);
    } finally {
      cap.stop();
    }
  });
});

const support = await netnsSupport();

describe.skipIf(!support.ok)(
  `extractor backfill across a network namespace link${support.ok ? '' : ` (skipped: ${support.reason})`}`,
  () => {
    let link: NetLink;
    let gateway: NetnsGateway;
    beforeAll(async () => {
      link = await createNetLink();
      gateway = await openNetnsGateway(link, { host: '127.0.0.1', port: simPort });
    });
    afterAll(async () => {
      await gateway?.close();
      await link?.destroy();
    });

    it('packet loss (8%): TCP retransmits, nothing lost or doubled', async () => {
      const shaping = await link.bandwidth(BASE_BYTES_PER_SECOND * 8, 300_000);
      const before = await link.stats();
      try {
        await backfillUnder('packet-loss', gateway.rewrite.bind(gateway), async () => {
          const loss = await link.loss(0.08, LOSS_MS);
          await loss.ended;
        });
        const after = await link.stats();
        expect(after.nsRetransmits - before.nsRetransmits).toBeGreaterThan(0);
        figures.push(
          `  packet-loss: ${after.droppedPackets - before.droppedPackets} packets dropped, ` +
            `${after.nsRetransmits - before.nsRetransmits} segments retransmitted by the EHR side (${link.lossMethod})`,
        );
      } finally {
        await shaping.stop();
      }
    });

    it(`tbf shaping (4 Mbit/s) and a link that drops everything for ${LINK_DOWN_MS / 1000} s`, async () => {
      const shaping = await link.bandwidth(4_000_000, 300_000);
      try {
        await backfillUnder('ns-link-down', gateway.rewrite.bind(gateway), async () => {
          await (
            await link.down(LINK_DOWN_MS)
          ).ended;
        });
      } finally {
        await shaping.stop();
      }
    });
  },
);

it('expected a data set of useful size', () => {
  expect(expectedSize).toBeGreaterThan(1_000);
});
