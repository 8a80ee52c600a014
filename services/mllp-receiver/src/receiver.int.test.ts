/**
 * The MLLP receiver against the real local stack (Kafka, registry, Redis), as a child process so
 * it can be killed: 10 hostile senders (resends without waiting, reconnects) while the receiver
 * is SIGKILLed and restarted — every message a sender saw ACKed is on the raw topic, every message
 * ends up ACKed, and each appears under one record id; then batches: a batch whose BTS-1 lies and
 * a batch cut off mid-stream are quarantined whole and alerted, the complete batches around them
 * are written. Topics and subjects are unique to the run and deleted afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalText,
  createCodec,
  createRegistry,
  type Codec,
  type QuarantineRecord,
  type RawEnvelope,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { hl7RecordId } from '@ehrflow/hl7';
import {
  MllpSender,
  runFeed,
  seededRandom,
  syntheticBatch,
  syntheticMessage,
  type FeedResult,
} from '@ehrflow/hl7-sim';
import { createKafka, type KafkaClient } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { decryptPayload, parseKeyring } from '@ehrflow/phi';
import { freePort } from '@ehrflow/testing';

const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MAIN = new URL('./main.ts', import.meta.url).pathname;
const SCHEMAS = new URL('../../../schemas/pipeline/', import.meta.url).pathname;

const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const prefix = `it-mllp-${id}.`;
const rawTopic = `${prefix}ehr.raw`;
const quarantineTopic = `${prefix}ehr.quarantine`;
const sourceId = `it-mllp-${id}`;
const alertFile = join(tmpdir(), `${prefix}alerts.jsonl`);
const dropDir = mkdtempSync(join(tmpdir(), 'mllp-drop-'));
const keyringSpec = `k1:${randomBytes(32).toString('base64')}`;
const keyring = parseKeyring(keyringSpec);

let kafka: KafkaClient;
let registry: SchemaRegistry;
let codec: Codec;
let mllpPort = 0;
const logger = createLogger({ name: 'mllp-it', level: 'warn' });
const children = new Set<ChildProcess>();
const output: string[] = [];

/** Starts the service and resolves once it logs that it listens. */
async function startReceiver(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      KAFKA_BROKERS: BROKERS,
      SCHEMA_REGISTRY_URL: REGISTRY_URL,
      REDIS_URL,
      PHI_KEYRING: keyringSpec,
      PSEUDONYM_KEY: Buffer.alloc(32, 9).toString('base64'),
      EHRFLOW_MODE: 'development',
      LOG_LEVEL: 'info',
      MLLP_SOURCE_ID: sourceId,
      MLLP_PORT: String(mllpPort),
      MLLP_HOST: '127.0.0.1',
      MLLP_RAW_TOPIC: rawTopic,
      MLLP_QUARANTINE_TOPIC: quarantineTopic,
      MLLP_DEDUPE_WINDOW_MS: '600000',
      MLLP_MAX_CONNECTIONS_PER_SENDER: '20',
      MLLP_TRANSACTIONAL_ID: `${prefix}tx`,
      ALERT_FILE: alertFile,
      MLLP_DROP_DIR: dropDir,
      MLLP_DROP_POLL_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`receiver did not start: ${output.slice(-5).join('')}`)),
      60_000,
    );
    const onLine = (chunk: Buffer) => {
      output.push(chunk.toString('utf8'));
      if (chunk.toString('utf8').includes('mllp-receiver started')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onLine);
    child.stderr?.on('data', (c: Buffer) => output.push(c.toString('utf8')));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`receiver exited with ${code}: ${output.slice(-5).join('')}`));
    });
  });
  return child;
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** Reads a topic from the beginning until `until` holds or the deadline passes. */
async function readTopic<T>(topic: string, until: (seen: T[]) => boolean, timeoutMs = 30_000): Promise<T[]> {
  const consumer = kafka.kafkajs.consumer({
    groupId: `${prefix}reader-${randomBytes(3).toString('hex')}`,
    maxWaitTimeInMs: 200,
  });
  const seen: T[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    let resolveDone: () => void = () => undefined;
    const done = new Promise<void>((r) => (resolveDone = r));
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (message.value === null) return;
        seen.push((await codec.decode<T>(message.value)).value);
        if (until(seen)) resolveDone();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
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
    topics: [rawTopic, quarantineTopic].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
    waitForLeaders: true,
  });
  await admin.disconnect();
  registry = createRegistry({ url: REGISTRY_URL });
  for (const [topic, file] of [
    [rawTopic, 'raw-envelope.avsc'],
    [quarantineTopic, 'quarantine-record.avsc'],
  ] as const) {
    await registry.register(
      `${topic}-value`,
      canonicalText(JSON.parse(await readFile(join(SCHEMAS, file), 'utf8'))),
    );
  }
  codec = createCodec(registry);
  mllpPort = await freePort();
});

afterAll(async () => {
  for (const child of children) await kill(child, 'SIGKILL');
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [rawTopic, quarantineTopic] }).catch(() => undefined);
  const { groups } = await admin.listGroups();
  await admin
    .deleteGroups(groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix)))
    .catch(() => undefined);
  await admin.disconnect();
  for (const topic of [rawTopic, quarantineTopic])
    await registry.deleteSubject(`${topic}-value`).catch(() => undefined);
  await registry.close();
  await rm(alertFile, { force: true });
  await rm(dropDir, { recursive: true, force: true });
});

describe('mllp-receiver (integration)', () => {
  it('SIGKILL under load from 10 senders: every ACKed message is on the raw topic, every message is ACKed in the end, one record id each', async () => {
    let receiver = await startReceiver();
    const senders = 10;
    const perSender = 120;
    const feeds: Promise<FeedResult>[] = [];
    let ackedSoFar = 0;
    for (let s = 0; s < senders; s += 1) {
      feeds.push(
        runFeed({
          port: mllpPort,
          sendingApplication: `SIM${s}`,
          controlIdPrefix: `S${s}`,
          count: perSender,
          seed: 100 + s,
          rate: 60,
          deadlineMs: 90_000,
          resendEvery: 17,
          ackTimeoutMs: 2_000,
          onAck: () => (ackedSoFar += 1),
        }),
      );
    }
    // Kill while messages are in flight (once some have been ACKed), then bring a fresh process
    // up on the same port.
    const killAfter = Math.ceil((senders * perSender) / 20);
    for (const end = Date.now() + 30_000; ackedSoFar < killAfter && Date.now() < end;)
      await new Promise((r) => setTimeout(r, 5));
    await kill(receiver, 'SIGKILL');
    const ackedBeforeKill = ackedSoFar;
    expect(ackedBeforeKill).toBeGreaterThan(0);
    expect(ackedBeforeKill).toBeLessThan(senders * perSender);
    await new Promise((r) => setTimeout(r, 300));
    receiver = await startReceiver();
    const results = await Promise.all(feeds);
    const acked = results.flatMap((r, s) => [...r.acked].map((controlId) => ({ s, controlId })));
    expect(results.reduce((n, r) => n + r.reconnects, 0)).toBeGreaterThan(0);
    expect(acked).toHaveLength(senders * perSender);
    const expectedIds = new Set(
      acked.map(({ s, controlId }) =>
        hl7RecordId(sourceId, { sendingApplication: `SIM${s}`, sendingFacility: 'SIMHOSP', controlId }),
      ),
    );
    const envelopes = await readTopic<RawEnvelope>(
      rawTopic,
      (seen) => new Set(seen.map((e) => e.recordId)).size >= expectedIds.size,
    );
    const onTopic = new Set(envelopes.map((e) => e.recordId));
    expect([...expectedIds].filter((rid) => !onTopic.has(rid))).toEqual([]);
    expect(onTopic.size).toBe(expectedIds.size);
    // Copies written twice (killed after the write, before the ACK) carry one record id; only those can repeat.
    const copies = envelopes.length - onTopic.size;
    expect(copies).toBeLessThan(senders * 3);
    const sample = envelopes[0] as RawEnvelope;
    expect(sample.format).toBe('HL7V2');
    expect(decryptPayload(keyring, Buffer.from(sample.payload)).toString('utf8')).toMatch(/^MSH\|/);
    await kill(receiver, 'SIGTERM');
    expect(receiver.exitCode).toBe(0);
  });

  it('a batch whose BTS-1 lies and a batch cut mid-stream (over MLLP, and a lying file dropped while the receiver was down) are quarantined whole and alerted; the complete batches around them are written', async () => {
    const random = seededRandom(7);
    const messages = (batch: string, n: number) =>
      Array.from({ length: n }, (_, i) =>
        syntheticMessage(random, { sendingApplication: 'BATCHSYS', controlId: `${batch}-${i}` }),
      );
    // Files dropped while the receiver is down are taken in when it starts (resume).
    writeFileSync(
      join(dropDir, 'good.hl7'),
      syntheticBatch(messages('FILEOK', 2), {
        batchId: 'FILEOK',
        sendingApplication: 'BATCHSYS',
        file: true,
      }),
    );
    writeFileSync(
      join(dropDir, 'lies.hl7'),
      syntheticBatch(messages('FILEBAD', 2), {
        batchId: 'FILEBAD',
        sendingApplication: 'BATCHSYS',
        declaredCount: 1,
        file: true,
      }),
    );
    const receiver = await startReceiver();
    const sender = new MllpSender(mllpPort);
    await sender.connect();
    const first = await sender.send(
      syntheticBatch(messages('GOOD1', 3), { batchId: 'GOOD1', sendingApplication: 'BATCHSYS', file: true }),
    );
    const lying = await sender.send(
      syntheticBatch(messages('LIES', 4), {
        batchId: 'LIES',
        sendingApplication: 'BATCHSYS',
        declaredCount: 5,
      }),
    );
    await sender.disconnectMidBlock(
      syntheticBatch(messages('CUT', 4), { batchId: 'CUT', sendingApplication: 'BATCHSYS' }),
      0.5,
    );
    const again = new MllpSender(mllpPort);
    await again.connect();
    const last = await again.send(
      syntheticBatch(messages('GOOD2', 2), { batchId: 'GOOD2', sendingApplication: 'BATCHSYS' }),
    );
    await again.end();
    expect([first?.code, first?.controlId, lying?.code, lying?.controlId, last?.code]).toEqual([
      'AA',
      'GOOD1',
      'AE',
      'LIES',
      'AA',
    ]);
    expect(lying?.errors[0]?.position).toBe('BTS^1^1');

    const quarantined = await readTopic<QuarantineRecord>(quarantineTopic, (seen) => seen.length >= 3);
    expect(quarantined.map((q) => [q.reason, q.fieldPath]).sort()).toEqual([
      ['contract_violation', 'BTS-1'],
      ['contract_violation', 'BTS-1'],
      ['parse_error', 'BTS'],
    ]);
    for (const q of quarantined)
      expect(decryptPayload(keyring, Buffer.from(q.payload)).toString('utf8')).toMatch(/^(BHS|FHS)\|/);
    const batchIds = (ids: string[]) =>
      ids.map((c) =>
        hl7RecordId(sourceId, { sendingApplication: 'BATCHSYS', sendingFacility: 'SIMHOSP', controlId: c }),
      );
    const good = new Set(
      batchIds(['GOOD1-0', 'GOOD1-1', 'GOOD1-2', 'GOOD2-0', 'GOOD2-1', 'FILEOK-0', 'FILEOK-1']),
    );
    const bad = new Set(
      batchIds(['LIES-0', 'LIES-1', 'LIES-2', 'LIES-3', 'CUT-0', 'CUT-1', 'FILEBAD-0', 'FILEBAD-1']),
    );
    const raw = await readTopic<RawEnvelope>(
      rawTopic,
      (seen) => seen.filter((e) => good.has(e.recordId)).length >= good.size,
    );
    expect(raw.filter((e) => good.has(e.recordId))).toHaveLength(good.size);
    expect(raw.filter((e) => bad.has(e.recordId))).toEqual([]);
    const alerts = (await readFile(alertFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { batchId: string; sendingApplication: string; reason: string });
    expect(alerts.map((a) => `${a.sendingApplication}:${a.batchId}:${a.reason}`).sort()).toEqual([
      'BATCHSYS:CUT:batch_incomplete',
      'BATCHSYS:FILEBAD:batch_count_mismatch',
      'BATCHSYS:LIES:batch_count_mismatch',
    ]);
    expect([
      existsSync(join(dropDir, 'done', 'good.hl7')),
      existsSync(join(dropDir, 'rejected', 'lies.hl7')),
    ]).toEqual([true, true]);
    await kill(receiver, 'SIGTERM');
  });
});
