/**
 * The redactor against the real local stack (Kafka, schema registry): valid records in (PHI fields
 * encrypted as the validator does, some with the old key and some after a key rotation), clean
 * records out, checked by the independent Safe Harbor checker and a canary leak scan; the same
 * patient from two sites links; refused records are quarantined; notes of a patient nobody saw
 * are withheld; a second process learns the patients of the first through the Redis-shared
 * directory (digests only); the service process drains on SIGTERM. Every topic, subject and Redis
 * key is unique to the run and deleted afterwards.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Codec, SchemaRegistry } from '@ehrflow/contracts';
import { localRegistry, registerJson } from '@ehrflow/contracts/testing';
import { checkSafeHarbor, leakScan } from '@ehrflow/deid';
import { createKafka, createProducer, type KafkaClient, type RecordProducer } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createKeyring, encryptField, parseKeyring } from '@ehrflow/phi';
import { localStack, waitFor } from '@ehrflow/testing';
import { loadRedactorConfig } from './config.ts';
import { startRedactor, type RunningRedactor } from './service.ts';
import {
  TEST_TYPES,
  canariesOf,
  contractJson,
  contractOfType,
  keyOf,
  people,
  pipelineSchemaJson,
  resourceOf,
  validRecord,
  type Person,
  type TestType,
} from './testing/fixtures.ts';

const run = promisify(execFile);
const { brokers: BROKERS, registryUrl: REGISTRY_URL, redisUrl: REDIS_URL } = localStack();
const CLI = new URL('./cli.ts', import.meta.url).pathname;
const MAIN = new URL('./main.ts', import.meta.url).pathname;

const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const prefix = `it-redactor-${id}.`;
const validPrefix = `${prefix}ehr.valid.`;
const cleanPrefix = `${prefix}ehr.clean.`;
const quarantineTopic = `${prefix}ehr.quarantine`;
const groupId = `${prefix}redactor`;
const types = [...TEST_TYPES];
const validTopics = types.map((t) => `${validPrefix}${t}`);
const cleanTopics = types.map((t) => `${cleanPrefix}${t}`);
const validDeletions = `${validPrefix}deletions`;
const cleanDeletions = `${cleanPrefix}deletions`;
const allTopics = [...validTopics, ...cleanTopics, validDeletions, cleanDeletions, quarantineTopic];
const subjects = allTopics.map((t) => `${t}-value`);
const directoryPrefix = `ehrflow:it-redactor-${id}:directory:`;

const k1 = randomBytes(32).toString('base64');
const k2 = randomBytes(32).toString('base64');
/** Writers before the rotation: k1 only. */
const oldRing = parseKeyring(`k1:${k1}`);
/** After the rotation: k2 active, k1 kept for what it wrote. The redactor runs with this ring. */
const rotatedRing = parseKeyring(`k1:${k1},k2:${k2}`);
const PSEUDONYM_KEY = randomBytes(32);

const env: Record<string, string> = {
  KAFKA_BROKERS: BROKERS,
  SCHEMA_REGISTRY_URL: REGISTRY_URL,
  PHI_KEYRING: `k1:${k1},k2:${k2}`,
  PSEUDONYM_KEY: PSEUDONYM_KEY.toString('base64'),
  EHRFLOW_MODE: 'development',
  LOG_LEVEL: 'info',
  REDACTOR_GROUP_ID: groupId,
  REDACTOR_VALID_TOPIC_PREFIX: validPrefix,
  REDACTOR_CLEAN_TOPIC_PREFIX: cleanPrefix,
  REDACTOR_QUARANTINE_TOPIC: quarantineTopic,
  REDACTOR_RESOURCE_TYPES: types.join(','),
  REDACTOR_MAX_BATCH: '50',
  // `REDACTOR_WORKERS=2 npx vitest run --project integration services/redactor` runs these with worker threads on.
  ...(process.env.REDACTOR_WORKERS === undefined ? {} : { REDACTOR_WORKERS: process.env.REDACTOR_WORKERS }),
  REDIS_URL,
  REDACTOR_DIRECTORY_KEY_PREFIX: directoryPrefix,
};

const siteA = people(6, 'site-a');
const siteB = people(6, 'site-b');
/** Patients whose Patient record never comes: their notes must be withheld. */
const siteC = people(2, 'site-c', 'u');
const canaries = [...siteA, ...siteC].flatMap(canariesOf);

let kafka: KafkaClient;
let registry: SchemaRegistry;
let codec: Codec;
let producer: RecordProducer;
const logLines: string[] = [];
const logger = createLogger({
  name: 'redactor-it',
  level: 'info',
  destination: new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  }),
});

/** Source records by recordId, decrypted, for the checker. */
const sources = new Map<string, { type: TestType; plain: Record<string, unknown>; person: Person }>();

async function produceValid(
  type: TestType,
  persons: readonly Person[],
  ring: ReturnType<typeof createKeyring>,
): Promise<void> {
  const messages = persons.map((p) => {
    const { plain, encrypted } = validRecord(type, resourceOf(type, p, 1), p.sourceId, ring);
    sources.set(String(plain.recordId), { type, plain: { ...plain }, person: p });
    return { key: keyOf(PSEUDONYM_KEY, p), value: encrypted };
  });
  await producer.send(`${validPrefix}${type}`, messages);
}

interface Seen {
  readonly topic: string;
  readonly schemaId: number;
  readonly value: Record<string, unknown>;
}

/** Reads topics from the beginning until `until` holds or the deadline passes. */
async function readTopics(
  topics: readonly string[],
  until: (seen: Seen[]) => boolean,
  timeoutMs = 60_000,
): Promise<Seen[]> {
  const consumer = kafka.kafkajs.consumer({
    groupId: `${prefix}reader-${randomBytes(3).toString('hex')}`,
    maxWaitTimeInMs: 200,
  });
  const seen: Seen[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      resolveDone = resolve;
    });
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        if (message.value === null) return;
        const decoded = await codec.decode<Record<string, unknown>>(message.value);
        seen.push({ topic, schemaId: decoded.schemaId, value: decoded.value });
        if (until(seen)) resolveDone();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      done,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

beforeAll(async () => {
  kafka = createKafka({ brokers: BROKERS, clientId: `${prefix}test`, logger, mode: 'development' });
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  await admin.createTopics({
    topics: allTopics.map((topic) => ({
      topic,
      numPartitions: 2,
      replicationFactor: 1,
    })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  ({ registry, codec } = localRegistry());
  for (const type of types) await registerJson(registry, `${validPrefix}${type}-value`, contractJson(type));
  await registerJson(registry, `${quarantineTopic}-value`, pipelineSchemaJson('quarantine-record.avsc'));
  producer = createProducer({ kafka, codec, logger });
  await producer.connect();
});

afterAll(async () => {
  await producer.disconnect().catch(() => undefined);
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect().catch(() => undefined);
  for await (const keys of redis.scanStream({ match: `${directoryPrefix}*`, count: 500 }) as AsyncIterable<
    string[]
  >)
    if (keys.length > 0) await redis.del(...keys);
  await redis.quit().catch(() => undefined);
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: allTopics }).catch(() => undefined);
  await admin.deleteGroups([groupId]).catch(() => undefined);
  await admin.disconnect();
  for (const subject of subjects) await registry.deleteSubject(subject).catch(() => undefined);
  await registry.close();
});

describe('redactor (integration)', () => {
  let redactor: RunningRedactor | undefined;

  it('refuses to start before the clean schemas are registered', async () => {
    const err = await startRedactor({ config: loadRedactorConfig(env), logger, env }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'SCHEMA_NOT_REGISTERED' });
    expect((err as Error).message).toContain(
      `clean subject ${cleanPrefix}Patient-value has no registered schema`,
    );
  });

  it('registers the clean schemas with the command', async () => {
    const args = [
      CLI,
      'register-schemas',
      '--types',
      types.join(','),
      '--valid-prefix',
      validPrefix,
      '--clean-prefix',
      cleanPrefix,
    ];
    const first = await run(process.execPath, args, {
      env: { ...process.env, SCHEMA_REGISTRY_URL: REGISTRY_URL },
    });
    expect(first.stdout).toContain(`registered ${cleanPrefix}Patient-value v1`);
    const again = await run(process.execPath, args, {
      env: { ...process.env, SCHEMA_REGISTRY_URL: REGISTRY_URL },
    });
    expect(again.stdout).toContain(`unchanged  ${cleanPrefix}Patient-value v1`);
    expect(first.stdout).toContain(`registered ${validDeletions}-value v1`);
    expect(first.stdout).toContain(`registered ${cleanDeletions}-value v1`);
    expect(again.stdout).toContain(`unchanged  ${cleanDeletions}-value v1`);
  });

  it('turns valid records into Safe Harbor clean records across a key rotation, and quarantines refusals', async () => {
    redactor = await startRedactor({
      config: loadRedactorConfig(env),
      logger,
      env,
      clientId: `${prefix}redactor`,
    });
    redactor.done.catch(() => undefined);
    await waitFor(() => redactor?.ready() === true, {
      what: 'redactor ready',
      timeoutMs: 30_000,
      intervalMs: 200,
    });

    // Site A before the rotation (k1), Patients first so their notes' names are known (best effort).
    await produceValid('Patient', siteA, oldRing);
    await waitFor(() => (redactor?.stats().committed ?? 0) >= siteA.length, {
      what: 'site A patients',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await produceValid('Observation', siteA, oldRing);
    await produceValid('Condition', siteA, oldRing);
    // The rotation: writers switch to k2; the redactor's ring already holds both.
    await produceValid('Patient', siteB, rotatedRing);
    await waitFor(() => (redactor?.stats().committed ?? 0) >= siteA.length * 3 + siteB.length, {
      what: 'site B patients',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    await produceValid('Observation', siteB, rotatedRing);
    await produceValid('Condition', siteB, rotatedRing);
    await produceValid('Observation', siteC, rotatedRing);

    // Two records the redactor must refuse: a key it does not hold, PHI in clear.
    const [p0] = siteA;
    if (p0 === undefined) throw new Error('fixture');
    const stranger = createKeyring([['k9', randomBytes(32)]]);
    const base = validRecord('Patient', resourceOf('Patient', p0, 1), 'site-c', oldRing).encrypted;
    await producer.send(`${validPrefix}Patient`, [
      {
        key: 'q1',
        value: { ...base, recordId: 'q'.repeat(32), nameFamily: encryptField(stranger, p0.family) },
      },
      { key: 'q2', value: { ...base, recordId: 'r'.repeat(32), telecomPhone: p0.phone } },
    ]);

    const expected = sources.size;
    const clean = await readTopics(cleanTopics, (seen) => seen.length >= expected);
    expect(clean).toHaveLength(expected);
    const quarantined = await readTopics([quarantineTopic], (seen) => seen.length >= 2);
    expect(quarantined.map((q) => q.value.reason)).toEqual(['decrypt_failed', 'decrypt_failed']);
    expect(quarantined.map((q) => q.value.fieldPath).sort()).toEqual([
      'Patient.nameFamily',
      'Patient.telecomPhone',
    ]);

    // Every clean record: written with the registered clean schema, stamped, Safe Harbor by the
    // independent checker against its decrypted source.
    const cleanIds = new Map<string, number>();
    for (const t of cleanTopics) cleanIds.set(t, (await registry.latest(`${t}-value`)).id);
    for (const record of clean) {
      expect(record.schemaId).toBe(cleanIds.get(record.topic));
      expect(record.value).toMatchObject({ deidPolicy: 'safe-harbor', deidPolicyVersion: '1.0.0' });
      const source = sources.get(String(record.value.recordId));
      if (source === undefined) throw new Error('a clean record without a source');
      expect(record.topic).toBe(`${cleanPrefix}${source.type}`);
      const violations = checkSafeHarbor({
        contract: contractOfType(source.type),
        source: source.plain,
        clean: record.value,
      });
      expect(violations, `${source.type} ${String(record.value.recordId)}`).toEqual([]);
    }

    // The same patient from two sites links through the pseudonyms; other records join on them.
    const patients = clean.filter((r) => r.topic === `${cleanPrefix}Patient`);
    for (const [i, a] of siteA.entries()) {
      const b = siteB[i];
      const of = (p: Person) =>
        patients.find((r) => sources.get(String(r.value.recordId))?.person === p)?.value ?? {};
      expect(of(a).logicalId).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{32}$/));
      expect(b && of(b).logicalId).toBe(of(a).logicalId);
      expect(b && of(b).identifierMrn).toBe(of(a).identifierMrn);
      const obs = clean.filter(
        (r) =>
          r.topic === `${cleanPrefix}Observation` &&
          sources.get(String(r.value.recordId))?.person.id === a.id,
      );
      expect(obs).toHaveLength(2);
      for (const o of obs) expect(o.value.patientRef).toBe(of(a).logicalId);
      expect(of(a).birthDate).toBe(a.birthDate.startsWith('1931') ? '90+' : a.birthDate.slice(0, 4));
      expect(of(a).addressPostalCode).toBe(a.zip.startsWith('036') ? '000' : a.zip.slice(0, 3));
    }

    // Notes: published (scrubbed) for the patients whose Patient came first, withheld for the others.
    const notesOf = (persons: readonly Person[]) =>
      clean
        .filter((r) => persons.includes(sources.get(String(r.value.recordId))?.person as Person))
        .filter((r) => r.topic !== `${cleanPrefix}Patient`)
        .map((r) => (r.value.noteText as string[])[0]);
    expect(notesOf(siteA).length).toBe(siteA.length * 2);
    for (const n of notesOf([...siteA, ...siteB])) expect(n).toMatch(/^\[NAME\] \[NAME\] \(MRN \[ID\]/);
    expect(notesOf(siteC)).toEqual(siteC.map(() => '[WITHHELD]'));

    // The shared directory holds digests under pseudonyms: no canary in Redis.
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${directoryPrefix}*`);
    expect(keys).toHaveLength(siteA.length + siteB.length);
    const members = (await Promise.all(keys.map((k) => redis.smembers(k)))).flat();
    await redis.quit();
    expect(members.length).toBeGreaterThan(keys.length * 10);
    expect(leakScan([keys.join(' '), members.join(' ')], canaries)).toEqual([]);

    // Zero canary hits in clean records, in the clear fields of quarantine records, in the logs.
    const haystacks = [
      ...clean.map((r) => ({ where: r.topic, text: JSON.stringify(r.value) })),
      ...quarantined.map((q) => ({
        where: q.topic,
        text: JSON.stringify({ ...q.value, payload: undefined }),
      })),
      { where: 'logs', text: logLines.join('') },
    ];
    expect(leakScan(haystacks, canaries)).toEqual([]);
    expect(logLines.join('')).toContain('record quarantined by the redactor');

    await redactor.stop();
    await expect(redactor.done).resolves.toBeUndefined();
  });

  it('pseudonymises deletions exactly as the upserts of the same resources, to the clean deletions topic', async () => {
    redactor = await startRedactor({
      config: loadRedactorConfig(env),
      logger,
      env,
      clientId: `${prefix}redactor-del`,
    });
    redactor.done.catch(() => undefined);
    await waitFor(() => redactor?.ready() === true, {
      what: 'redactor ready',
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    const observations = [...sources.entries()].filter(
      ([, s]) => s.type === 'Observation' && s.person.sourceId === 'site-a',
    );
    expect(observations.length).toBeGreaterThan(2);
    const deletion = (recordId: string, resourceType: string, logicalId: string) => ({
      recordId,
      jobId: 'job-since',
      sourceId: 'site-a',
      resourceType,
      logicalId: encryptField(rotatedRing, logicalId),
      sourceLocator: 'file 1 line 1',
      deleted: true,
      deidPolicy: null,
      deidPolicyVersion: null,
    });
    await producer.send(validDeletions, [
      ...observations.map(([recordId, s]) => ({
        key: `del-${recordId}`,
        value: deletion(`del-${recordId}`, 'Observation', String(s.plain.logicalId)),
      })),
      { key: 'del-claim', value: deletion('del-claim', 'Claim', 'claim-1') },
    ]);
    const cleanDeleted = await readTopics([cleanDeletions], (seen) => seen.length >= observations.length);
    const upserts = await readTopics([`${cleanPrefix}Observation`], (seen) =>
      observations.every(([id]) => seen.some((r) => r.value.recordId === id)),
    );
    expect(cleanDeleted).toHaveLength(observations.length);
    const deletionSchemaId = (await registry.latest(`${cleanDeletions}-value`)).id;
    for (const [recordId] of observations) {
      const d = cleanDeleted.find((r) => r.value.recordId === `del-${recordId}`);
      const u = upserts.find((r) => r.value.recordId === recordId);
      expect(d?.schemaId).toBe(deletionSchemaId);
      expect(d?.value).toMatchObject({
        resourceType: 'Observation',
        deleted: true,
        deidPolicy: 'safe-harbor',
      });
      expect(d?.value.logicalId).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{32}$/));
      expect(d?.value.logicalId).toBe(u?.value.logicalId);
    }
    const quarantined = await readTopics([quarantineTopic], (seen) =>
      seen.some((q) => q.value.recordId === 'del-claim'),
    );
    expect(quarantined.find((q) => q.value.recordId === 'del-claim')?.value).toMatchObject({
      reason: 'unknown_resource_type',
      sourceTopic: validDeletions,
      schemaSubject: `${validDeletions}-value`,
    });
    await redactor.stop();
  });

  it('runs as a process with health, readiness and metrics, and drains on SIGTERM', async () => {
    const child: ChildProcess = spawn(process.execPath, [MAIN], {
      env: { ...process.env, ...env, HTTP_PORT: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => out.push(chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let port = 0;
      await waitFor(
        () => {
          const m = /"port":(\d+)[^\n]*"msg":"redactor started"/.exec(out.join(''));
          port = m ? Number(m[1]) : 0;
          return port > 0;
        },
        { what: 'redactor process to start', timeoutMs: 30_000, intervalMs: 200 },
      );
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, {
        what: 'readiness',
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);

      // It resumes from the group's committed offsets: only the new record is processed.
      const [p] = siteA;
      if (p === undefined) throw new Error('fixture');
      const late = validRecord('Observation', resourceOf('Observation', p, 9), p.sourceId, rotatedRing);
      await producer.send(`${validPrefix}Observation`, [
        { key: keyOf(PSEUDONYM_KEY, p), value: late.encrypted },
      ]);
      await waitFor(
        async () =>
          /ehrflow_redactor_records_total\{[^}]*outcome="clean"[^}]*\} 1\b/.test(
            await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
          ),
        { what: 'the late record in metrics', timeoutMs: 30_000, intervalMs: 200 },
      );
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      expect(metrics).toContain('ehrflow_redactor_records_total');
      expect(leakScan([metrics], canaries)).toEqual([]);
      // A new process never saw the Patient: it knows it from the shared directory, so the note is
      // published scrubbed, not withheld.
      expect(metrics).not.toMatch(/ehrflow_redactor_free_text_withheld_total\{[^}]*\} [1-9]/);
      const lateId = String(late.plain.recordId);
      const [lateClean] = (
        await readTopics([`${cleanPrefix}Observation`], (seen) =>
          seen.some((r) => r.value.recordId === lateId),
        )
      ).filter((r) => r.value.recordId === lateId);
      expect((lateClean?.value.noteText as string[])[0]).toMatch(/^\[NAME\] \[NAME\] \(MRN \[ID\]/);
      expect(leakScan([JSON.stringify(lateClean?.value)], canaries)).toEqual([]);

      child.kill('SIGTERM');
      const code = await Promise.race([
        exited,
        new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 30_000)),
      ]);
      expect(code).toBe(0);
      expect(out.join('')).toContain('service stopped');
      expect(leakScan([out.join('')], canaries)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
