import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '@ehrflow/config';
import {
  createCodec,
  createRegistry,
  loadSchemaSet,
  type Codec,
  type JobEvent,
  type RawEnvelope,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { resourceId, RESOURCE_TYPES, type Simulator } from '@ehrflow/ehr-sim';
import { recordIdOf } from '@ehrflow/fhir';
import { createKafka, type KafkaClient } from '@ehrflow/kafka';
import { createLogger, type Logger } from '@ehrflow/logging';
import { parseKeyring, type Keyring } from '@ehrflow/phi';
import { createTopics, deleteTopics, localStack, waitForValue } from '@ehrflow/testing';
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose';
import pg from 'pg';
import { buildExtractor, type Extractor } from '../app.ts';
import { extractorEnv } from '../config.ts';
import { DELETED_VERSION } from '../envelope.ts';
import type { JobView } from '../job-view.ts';
import type { ExtractorMetrics } from '../metrics.ts';

// Shared set-up of the extractor's integration tests: a unique raw/jobs topic pair (subjects
// registered with the ehr.raw / ehr.jobs schemas), a unique PostgreSQL schema, a unique keyring,
// client credentials for the simulator, and helpers to build extractors and read results back.

const STACK = localStack();
export const REGISTRY_URL = STACK.registryUrl;
export const DATABASE_URL = STACK.databaseUrl;

/** One site of the simulator as a configured source. */
export interface SiteSetup {
  readonly site: string;
  readonly sourceId: string;
  readonly clientId: string;
}

/** Log lines a test can search (JSON objects as pino writes them). */
export interface CapturedLogs {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
}

export interface IntStack {
  /** Random id of this run; use it in source ids and seeds. */
  readonly rid: string;
  readonly rawTopic: string;
  readonly jobsTopic: string;
  readonly dbSchema: string;
  readonly keyring: Keyring;
  readonly kafka: KafkaClient;
  readonly registry: SchemaRegistry;
  readonly codec: Codec;
  readonly logger: Logger;
  /** Temporary directory holding sources files and credentials. */
  readonly dir: string;
  /** Client-secret credentials (register with the simulator as a client). */
  readonly secretClient: { readonly clientId: string; readonly secret: string };
  /** SMART JWT (ES384) credentials; set by `setUp`. */
  jwtClient: { readonly clientId: string; readonly jwks: { keys: object[] } };
  /** Creates topics, registers subjects, writes credentials. */
  setUp(): Promise<void>;
  /** Deletes everything `setUp` created. */
  tearDown(): Promise<void>;
  /** Writes a sources file for the sites (a site with the secret client id uses the secret). */
  sourcesFile(sim: Simulator, sites: readonly SiteSetup[], extra?: Record<string, unknown>): string;
  /** The extractor environment for a sources file, with fast test timings. */
  envFor(sourcesPath: string, extra?: Record<string, string>): Record<string, string>;
  /** Builds an extractor in this process and starts its timers. */
  inProcess(
    env: Record<string, string>,
    options?: { logger?: Logger; metrics?: ExtractorMetrics },
  ): Promise<Extractor>;
  /** Every raw envelope and job event of a job, read back until `until` holds (bounded). */
  readBack(
    jobId: string,
    until: (raw: RawEnvelope[], events: JobEvent[]) => boolean,
  ): Promise<{ raw: RawEnvelope[]; events: JobEvent[] }>;
}

/** Creates the isolated test stack of one test file; call `setUp` in `beforeAll`. */
export function createIntStack(prefix: string): IntStack {
  const rid = randomBytes(4).toString('hex');
  const keyringText = `k${rid}:${randomBytes(32).toString('base64')}`;
  const logger = createLogger({ name: `${prefix}-int`, level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const kafka = createKafka({
    brokers: STACK.brokers,
    clientId: `${prefix}-int-${rid}`,
    logger,
    mode: 'test',
  });
  const registry = createRegistry({ url: REGISTRY_URL });
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-${rid}-`));
  const rawTopic = `t.${rid}.${prefix}.raw`;
  const jobsTopic = `t.${rid}.${prefix}.jobs`;
  const secretClient = { clientId: `sec-${rid}`, secret: randomBytes(12).toString('hex') };

  const stack: IntStack = {
    rid,
    rawTopic,
    jobsTopic,
    dbSchema: `extractor_t_${rid}`,
    keyring: parseKeyring(keyringText),
    kafka,
    registry,
    codec: createCodec(registry),
    logger,
    dir,
    secretClient,
    jwtClient: { clientId: `jwt-${rid}`, jwks: { keys: [] } },

    async setUp() {
      const admin = kafka.kafkajs.admin();
      await admin.connect();
      try {
        await createTopics(admin, [rawTopic], 3);
        await createTopics(admin, [jobsTopic], 1);
      } finally {
        await admin.disconnect();
      }
      // From the local schema files, not the shared registry: a test runs the schemas of its checkout.
      const local = loadSchemaSet();
      for (const [topic, from] of [
        [rawTopic, 'ehr.raw-value'],
        [jobsTopic, 'ehr.jobs-value'],
      ] as const) {
        const schema = local.subjects.find((s) => s.subject === from)?.schema;
        if (schema === undefined) throw new Error(`no local schema for ${from}`);
        await registry.register(`${topic}-value`, schema.canonical);
      }
      const { publicKey, privateKey } = await generateKeyPair('ES384', { extractable: true });
      writeFileSync(join(dir, 'client.pem'), await exportPKCS8(privateKey));
      stack.jwtClient = {
        clientId: `jwt-${rid}`,
        jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES384' }] },
      };
      writeFileSync(join(dir, 'client.secret'), secretClient.secret);
    },

    async tearDown() {
      const admin = kafka.kafkajs.admin();
      await admin.connect();
      await deleteTopics(admin, [rawTopic, jobsTopic]);
      await admin.disconnect();
      for (const topic of [rawTopic, jobsTopic])
        await registry.deleteSubject(`${topic}-value`).catch(() => undefined);
      await registry.close();
      const pool = new pg.Pool({ connectionString: DATABASE_URL });
      await pool.query(`DROP SCHEMA IF EXISTS "${stack.dbSchema}" CASCADE`);
      await pool.end();
      rmSync(dir, { recursive: true, force: true });
    },

    sourcesFile(sim, sites, extra = {}) {
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
    },

    envFor(sourcesPath, extra = {}) {
      return {
        KAFKA_BROKERS: STACK.brokers,
        SCHEMA_REGISTRY_URL: REGISTRY_URL,
        REDIS_URL: STACK.redisUrl,
        DATABASE_URL,
        PHI_KEYRING: keyringText,
        PSEUDONYM_KEY: randomBytes(32).toString('base64'),
        EHRFLOW_MODE: 'test',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        EXTRACTOR_SOURCES_FILE: sourcesPath,
        EXTRACTOR_RAW_TOPIC: rawTopic,
        EXTRACTOR_JOBS_TOPIC: jobsTopic,
        EXTRACTOR_DB_SCHEMA: stack.dbSchema,
        EXTRACTOR_BATCH_SIZE: '50',
        EXTRACTOR_HTTP_RETRIES: '10',
        EXTRACTOR_RETRY_MAX_MS: '1000',
        EXTRACTOR_PROGRESS_INTERVAL_MS: '1000',
        EXTRACTOR_LEASE_MS: '3000',
        ...extra,
      };
    },

    async inProcess(env, options = {}) {
      const extractor = await buildExtractor(
        loadConfig(extractorEnv, env),
        options.logger ?? logger,
        options.metrics,
        env,
      );
      extractor.jobs.run();
      return extractor;
    },

    async readBack(jobId, until) {
      const raw: RawEnvelope[] = [];
      const events: JobEvent[] = [];
      const consumer = kafka.kafkajs.consumer({ groupId: `${prefix}-int-${rid}-${randomUUID()}` });
      await consumer.connect();
      await consumer.subscribe({ topics: [rawTopic, jobsTopic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ topic, message }) => {
          if (message.value === null) return;
          const { value } = await stack.codec.decode(message.value);
          if (topic === rawTopic && (value as RawEnvelope).jobId === jobId) raw.push(value as RawEnvelope);
          if (topic === jobsTopic && (value as JobEvent).jobId === jobId) events.push(value as JobEvent);
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
    },
  };
  return stack;
}

/** A job has ended when it is neither pending nor running (completed, partial, failed, cancelled). */
export function hasEnded(view: JobView): boolean {
  return view.state !== 'running' && view.state !== 'pending';
}

/** The job's view once it left `pending`/`running`, polled within `timeoutMs`. */
export async function waitForEnd(extractor: Extractor, jobId: string, timeoutMs: number): Promise<JobView> {
  return waitForValue(
    async () => {
      const view = await extractor.jobs.get(jobId);
      return view !== undefined && hasEnded(view) ? view : undefined;
    },
    { what: `job ${jobId} to end`, timeoutMs: timeoutMs },
  );
}

/** Filter of the resources a test expects, by type and the generator's metadata. */
export interface ExpectedFilter {
  readonly types?: readonly string[];
  /** Only resources with `lastUpdated >= sinceMs` (the `_since` rule of the simulator's export). */
  readonly sinceMs?: number;
}

/**
 * Record ids the extractor must produce for a site: live resources as UPSERTs and, with a
 * `_since`, deleted ones as DELETEs (only `_since` exports list deletions).
 */
export function expectedRecords(
  sim: Simulator,
  site: string,
  sourceId: string,
  filter: ExpectedFilter = {},
): { upserts: Set<string>; deletes: Set<string> } {
  const upserts = new Set<string>();
  const deletes = new Set<string>();
  const layout = sim.generator.layout(site);
  for (const type of RESOURCE_TYPES) {
    if (filter.types !== undefined && !filter.types.includes(type)) continue;
    for (let i = 0; i < layout.count(type); i++) {
      const meta = sim.generator.meta(site, type, i);
      if (filter.sinceMs !== undefined && meta.lastUpdatedMs < filter.sinceMs) continue;
      if (!meta.deleted) upserts.add(recordIdOf(sourceId, type, resourceId(type, i), String(meta.versionId)));
      else if (filter.sinceMs !== undefined)
        deletes.add(recordIdOf(sourceId, type, resourceId(type, i), DELETED_VERSION));
    }
  }
  return { upserts, deletes };
}

/** A logger at `level` whose lines are kept in memory for assertions. */
export function capturingLogger(name: string, level = 'info'): CapturedLogs {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { logger: createLogger({ name, level, destination }), lines };
}

/** One HTTP exchange the simulator saw, recorded by `recordExchanges`. */
export interface Exchange {
  readonly method: string;
  /** Path without the query string. */
  readonly path: string;
  readonly status: number;
  /** Arrival and response times, epoch ms. */
  readonly arrivedAt: number;
  readonly answeredAt: number;
  readonly retryAfter: string | undefined;
}

/**
 * Records every request the simulator answers (admin routes excluded). Call before `sim.start`:
 * hooks must be added before the server is ready.
 */
export function recordExchanges(sim: Simulator): Exchange[] {
  const log: Exchange[] = [];
  const arrivals = new WeakMap<object, number>();
  sim.app.addHook('onRequest', (request, _reply, done) => {
    arrivals.set(request, Date.now());
    done();
  });
  sim.app.addHook('onResponse', (request, reply, done) => {
    done();
    const path = request.url.split('?')[0] ?? '';
    if (path.startsWith('/_admin')) return;
    const retryAfter = reply.getHeader('retry-after');
    log.push({
      method: request.method,
      path,
      status: reply.statusCode,
      arrivedAt: arrivals.get(request) ?? Date.now(),
      answeredAt: Date.now(),
      retryAfter: retryAfter === undefined ? undefined : String(retryAfter),
    });
  });
  return log;
}
