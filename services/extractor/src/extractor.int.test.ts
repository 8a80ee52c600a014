import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@ehrflow/config';
import {
  createCodec,
  createRegistry,
  loadSchemaSet,
  type JobEvent,
  type RawEnvelope,
} from '@ehrflow/contracts';
import { createSimulator, resourceId, RESOURCE_TYPES, type Simulator } from '@ehrflow/ehr-sim';
import { recordIdOf } from '@ehrflow/fhir';
import { createKafka } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { decryptPayload, parseKeyring } from '@ehrflow/phi';
import { freePort, waitForValue } from '@ehrflow/testing';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExtractor, type Extractor } from './app.ts';
import { extractorEnv } from './config.ts';
import type { JobView } from './job-view.ts';

// Integration tests against the real local stack and the EHR simulator (in process, port 0).
// Isolation: unique raw/jobs topics (their subjects registered with the ehr.raw / ehr.jobs
// schemas), a unique PostgreSQL schema, unique source ids (Redis keys) per run.

const rid = randomBytes(4).toString('hex');
const RAW_TOPIC = `t.${rid}.extractor.raw`;
const JOBS_TOPIC = `t.${rid}.extractor.jobs`;
const DB_SCHEMA = `extractor_t_${rid}`;
const REGISTRY_URL = 'http://127.0.0.1:8081/apis/ccompat/v7';
const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const KEYRING = `k${rid}:${randomBytes(32).toString('base64')}`;
const keyring = parseKeyring(KEYRING);
const dir = mkdtempSync(join(tmpdir(), `extractor-${rid}-`));
const logger = createLogger({ name: 'extractor-int', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const kafka = createKafka({
  brokers: '127.0.0.1:9092',
  clientId: `extractor-int-${rid}`,
  logger,
  mode: 'test',
});
const registry = createRegistry({ url: REGISTRY_URL });
const codec = createCodec(registry);

interface SiteSetup {
  readonly site: string;
  readonly sourceId: string;
  readonly clientId: string;
}

let secretClient: { clientId: string; secret: string };
let jwtClient: { clientId: string; jwks: { keys: object[] } };
let pemFile: string;

beforeAll(async () => {
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic: RAW_TOPIC, numPartitions: 3 },
      { topic: JOBS_TOPIC, numPartitions: 1 },
    ],
    waitForLeaders: true,
  });
  await admin.disconnect();
  // From the local schema files, not the shared registry: a test runs the schemas of its checkout.
  const local = loadSchemaSet();
  for (const [topic, from] of [
    [RAW_TOPIC, 'ehr.raw-value'],
    [JOBS_TOPIC, 'ehr.jobs-value'],
  ] as const) {
    const schema = local.subjects.find((s) => s.subject === from)?.schema;
    if (schema === undefined) throw new Error(`no local schema for ${from}`);
    await registry.register(`${topic}-value`, schema.canonical);
  }
  const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
  pemFile = join(dir, 'client.pem');
  writeFileSync(pemFile, await exportPKCS8(privateKey));
  jwtClient = {
    clientId: `jwt-${rid}`,
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384' }] },
  };
  secretClient = { clientId: `sec-${rid}`, secret: randomBytes(12).toString('hex') };
  writeFileSync(join(dir, 'client.secret'), secretClient.secret);
});

afterAll(async () => {
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [RAW_TOPIC, JOBS_TOPIC] }).catch(() => undefined);
  await admin.disconnect();
  for (const topic of [RAW_TOPIC, JOBS_TOPIC])
    await registry.deleteSubject(`${topic}-value`).catch(() => undefined);
  await registry.close();
  const pool = new pg.Pool({ connectionString: DATABASE_URL });
  await pool.query(`DROP SCHEMA IF EXISTS "${DB_SCHEMA}" CASCADE`);
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a sources file for the given sites (site-a: client secret, site-b: SMART JWT ES384). */
function sourcesFile(
  sim: Simulator,
  sites: readonly SiteSetup[],
  extra: Record<string, unknown> = {},
): string {
  const file = join(dir, `sources-${randomUUID()}.json`);
  const sources = sites.map((s) => ({
    id: s.sourceId,
    baseUrl: sim.fhirBase(s.site),
    tokenUrl: sim.tokenUrl(s.site),
    clientId: s.clientId,
    auth:
      s.clientId === secretClient.clientId
        ? { method: 'secret', secretFile: 'client.secret' }
        : { method: 'jwt', privateKeyFile: 'client.pem', alg: 'ES384', kid: 'k1' },
    resourceTypes: [...RESOURCE_TYPES],
    maxConcurrency: 4,
    ...extra,
  }));
  writeFileSync(file, JSON.stringify({ sources }));
  return file;
}

function envFor(sourcesPath: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    KAFKA_BROKERS: '127.0.0.1:9092',
    SCHEMA_REGISTRY_URL: REGISTRY_URL,
    REDIS_URL: 'redis://127.0.0.1:6379',
    DATABASE_URL,
    PHI_KEYRING: KEYRING,
    PSEUDONYM_KEY: randomBytes(32).toString('base64'),
    EHRFLOW_MODE: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    EXTRACTOR_SOURCES_FILE: sourcesPath,
    EXTRACTOR_RAW_TOPIC: RAW_TOPIC,
    EXTRACTOR_JOBS_TOPIC: JOBS_TOPIC,
    EXTRACTOR_DB_SCHEMA: DB_SCHEMA,
    EXTRACTOR_BATCH_SIZE: '50',
    EXTRACTOR_HTTP_RETRIES: '10',
    EXTRACTOR_RETRY_MAX_MS: '1000',
    EXTRACTOR_PROGRESS_INTERVAL_MS: '1000',
    EXTRACTOR_LEASE_MS: '3000',
    ...extra,
  };
}

async function inProcess(env: Record<string, string>): Promise<Extractor> {
  const extractor = await buildExtractor(loadConfig(extractorEnv, env), logger, undefined, env);
  extractor.jobs.run();
  return extractor;
}

/** Every raw envelope and job event of a job, read back from the test topics. */
async function readBack(
  jobId: string,
  until: (raw: RawEnvelope[], events: JobEvent[]) => boolean,
): Promise<{ raw: RawEnvelope[]; events: JobEvent[] }> {
  const raw: RawEnvelope[] = [];
  const events: JobEvent[] = [];
  const consumer = kafka.kafkajs.consumer({ groupId: `extractor-int-${rid}-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [RAW_TOPIC, JOBS_TOPIC], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      if (message.value === null) return;
      const { value } = await codec.decode(message.value);
      if (topic === RAW_TOPIC && (value as RawEnvelope).jobId === jobId) raw.push(value as RawEnvelope);
      if (topic === JOBS_TOPIC && (value as JobEvent).jobId === jobId) events.push(value as JobEvent);
    },
  });
  try {
    await waitForValue(() => Promise.resolve(until(raw, events) ? true : undefined), {
      what: 'records on the test topics',
      timeoutMs: 60_000,
    });
  } finally {
    await consumer.disconnect();
  }
  return { raw, events };
}

/** Record ids of every live (non-deleted) resource of a site, as the extractor must produce them. */
function expectedIds(sim: Simulator, site: string, sourceId: string): Set<string> {
  const ids = new Set<string>();
  const layout = sim.generator.layout(site);
  for (const type of RESOURCE_TYPES) {
    for (let i = 0; i < layout.count(type); i++) {
      const meta = sim.generator.meta(site, type, i);
      if (!meta.deleted) ids.add(recordIdOf(sourceId, type, resourceId(type, i), String(meta.versionId)));
    }
  }
  return ids;
}

describe('backfill across two sites with short tokens, a strict rate limit and a flaky network', () => {
  let sim: Simulator;
  let extractor: Extractor | undefined;

  beforeAll(async () => {
    sim = createSimulator({
      seed: `bf-${rid}`,
      patientsPerSite: 150,
      resourcesPerPatient: 2,
      clients: [secretClient, jwtClient],
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
      { site: 'site-b', sourceId: `b-${rid}`, clientId: jwtClient.clientId },
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
