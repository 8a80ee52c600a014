/**
 * The billing receiver against the real local stack (Kafka, registry, Redis), as a child process so
 * it can be stopped and killed mid-file: a file of 400 transaction sets is interrupted by SIGTERM
 * (resumed with nothing lost or repeated) and another by SIGKILL (nothing lost; at most the batch
 * in flight repeated, under the same record ids); then a folder of generated files with every
 * fault — each faulty file refused whole with a reason, an encrypted copy and a TA1/999, each good
 * one written set by set, the duplicate interchange not written again. Topics and subjects are
 * unique to the run and deleted afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
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
import { createKafka, type KafkaClient } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { decryptPayload, parseKeyring } from '@ehrflow/phi';
import { ODD_DELIMITERS, syntheticInterchange, type InterchangeOptions } from '@ehrflow/x12-sim';
type Consumer = ReturnType<KafkaClient['kafkajs']['consumer']>;

const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MAIN = new URL('./main.ts', import.meta.url).pathname;
const SCHEMAS = new URL('../../../schemas/pipeline/', import.meta.url).pathname;

const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const prefix = `it-x12-${id}.`;
const rawTopic = `${prefix}ehr.raw`;
const quarantineTopic = `${prefix}ehr.quarantine`;
const sourceId = `it-x12-${id}`;
const inbox = mkdtempSync(join(tmpdir(), 'x12-in-'));
const outbox = mkdtempSync(join(tmpdir(), 'x12-out-'));
const keyringSpec = `k1:${randomBytes(32).toString('base64')}`;
const keyring = parseKeyring(keyringSpec);
const BATCH = 10;

let kafka: KafkaClient;
let registry: SchemaRegistry;
let codec: Codec;
const logger = createLogger({ name: 'x12-it', level: 'warn' });
const children = new Set<ChildProcess>();
const output: string[] = [];
const raw: RawEnvelope[] = [];
const quarantined: QuarantineRecord[] = [];
const consumers: Consumer[] = [];

async function startReceiver(): Promise<ChildProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      KAFKA_BROKERS: BROKERS,
      SCHEMA_REGISTRY_URL: REGISTRY_URL,
      REDIS_URL,
      PHI_KEYRING: keyringSpec,
      PSEUDONYM_KEY: randomKeyOnce,
      EHRFLOW_MODE: 'development',
      LOG_LEVEL: 'info',
      X12_SOURCE_ID: sourceId,
      X12_INBOX_DIR: inbox,
      X12_OUTBOX_DIR: outbox,
      X12_POLL_MS: '100',
      X12_REQUIRE_MARKER: 'true',
      X12_BATCH_SETS: String(BATCH),
      X12_RAW_TOPIC: rawTopic,
      X12_QUARANTINE_TOPIC: quarantineTopic,
      X12_TRANSACTIONAL_ID: `${prefix}tx`,
      X12_DEDUPE_WINDOW_MS: '600000',
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
    child.stdout?.on('data', (chunk: Buffer) => {
      output.push(chunk.toString('utf8'));
      if (chunk.toString('utf8').includes('billing-receiver started')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on('data', (c: Buffer) => output.push(c.toString('utf8')));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`receiver exited with ${code}: ${output.slice(-5).join('')}`));
    });
  });
  return child;
}
const randomKeyOnce = randomBytes(32).toString('base64');

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
}

/** Follows a topic from the beginning (read_committed) into `into` for the whole run. */
async function follow<T>(topic: string, into: T[]): Promise<void> {
  const consumer = kafka.kafkajs.consumer({
    groupId: `${prefix}reader-${randomBytes(3).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (message.value !== null) into.push((await codec.decode<T>(message.value)).value);
    },
  });
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Writes a generated file and then its `.done` marker (the receiver requires markers here). */
async function drop(name: string, options: InterchangeOptions): Promise<number> {
  const file = syntheticInterchange(options);
  await writeFile(join(inbox, name), file.bytes);
  await writeFile(join(inbox, `${name}.done`), '');
  return file.sets.length;
}

const ls = (dir: string) => readdir(dir).catch(() => [] as string[]);
const ofJob = (suffix: string) => raw.filter((r) => r.sourceLocator.includes(suffix));
const unique = (rs: readonly RawEnvelope[]) => new Set(rs.map((r) => r.recordId)).size;

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
  await follow(rawTopic, raw);
  await follow(quarantineTopic, quarantined);
});

afterAll(async () => {
  for (const child of children) await stop(child, 'SIGKILL');
  for (const c of consumers) await c.disconnect().catch(() => undefined);
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
  await rm(inbox, { recursive: true, force: true });
  await rm(outbox, { recursive: true, force: true });
});

describe('billing-receiver (integration)', () => {
  it('SIGTERM mid-file: the file stays in the inbox and a restart finishes it, every set exactly once', async () => {
    let receiver = await startReceiver();
    const sets = await drop('big-term.x12', {
      seed: 1,
      controlNumber: 70001,
      groups: [{ kind: '837P', sets: 400 }],
    });
    const mine = () => ofJob('ISA13 000070001 ');
    await waitFor(() => mine().length >= 40, 'the first batches');
    await stop(receiver, 'SIGTERM');
    const atStop = mine().length;
    expect(atStop).toBeLessThan(sets);
    expect(await ls(inbox)).toContain('big-term.x12');
    receiver = await startReceiver();
    await waitFor(async () => (await ls(join(inbox, 'done'))).includes('big-term.x12'), 'the file to finish');
    await waitFor(() => mine().length >= sets, 'every set on the raw topic');
    expect(mine()).toHaveLength(sets);
    expect(unique(mine())).toBe(sets);
    await stop(receiver, 'SIGTERM');
  });

  it('SIGKILL mid-file: nothing lost, at most the batch in flight written again under the same ids', async () => {
    let receiver = await startReceiver();
    const sets = await drop('big-kill.x12', {
      seed: 2,
      controlNumber: 70002,
      groups: [{ kind: '835', sets: 400 }],
    });
    const mine = () => ofJob('ISA13 000070002 ');
    await waitFor(() => mine().length >= 40, 'the first batches');
    await stop(receiver, 'SIGKILL');
    receiver = await startReceiver();
    await waitFor(() => unique(mine()) >= sets, 'every set on the raw topic');
    await waitFor(async () => (await ls(join(inbox, 'done'))).includes('big-kill.x12'), 'the file to finish');
    expect(unique(mine())).toBe(sets);
    expect(mine().length - sets).toBeLessThanOrEqual(BATCH);
    await stop(receiver, 'SIGTERM');
  });

  it('a folder with every fault: faulty files refused whole with reason and acknowledgment, good ones written, the duplicate not', async () => {
    const receiver = await startReceiver();
    const good = {
      groups: [
        { kind: '837P' as const, sets: 4, claimsPerSet: 2 },
        { kind: '837I' as const, sets: 3 },
        { kind: '835' as const, sets: 3 },
      ],
    };
    const expected =
      (await drop('good-a.x12', { seed: 10, controlNumber: 71001, ...good })) +
      (await drop('good-odd.edi', { seed: 11, controlNumber: 71002, delimiters: ODD_DELIMITERS, ...good }));
    const faults = ['cut', 'se-count', 'ge-count', 'iea-count', 'se-control'] as const;
    for (const [i, fault] of faults.entries())
      await drop(`bad-${fault}.x12`, { seed: 20 + i, controlNumber: 72001 + i, fault, ...good });
    await waitFor(
      async () =>
        (await ls(join(inbox, 'done'))).filter((n) => n.startsWith('good-') && !n.endsWith('.done'))
          .length === 2,
      'the good files',
    );
    // The duplicate interchange: same sender and ISA13 as good-a, other content; dropped after good-a is done.
    await drop('dup-a.x12', { seed: 99, controlNumber: 71001, ...good });
    await waitFor(() => quarantined.length >= faults.length, 'a quarantine record per faulty file');
    await waitFor(
      async () => (await ls(join(inbox, 'done'))).includes('dup-a.x12'),
      'the duplicate to be answered',
    );

    const written = raw.filter((r) => /ISA13 00007100[12] /.test(r.sourceLocator));
    expect(written).toHaveLength(expected);
    expect(unique(written)).toBe(expected);
    expect(raw.filter((r) => /ISA13 00007200\d /.test(r.sourceLocator))).toHaveLength(0);
    expect(new Set(written.map((r) => r.resourceType))).toEqual(new Set(['837P', '837I', '835']));
    const plain = decryptPayload(keyring, (written[0] as RawEnvelope).payload).toString('latin1');
    expect(plain.startsWith('ISA')).toBe(true);

    expect(quarantined).toHaveLength(faults.length);
    for (const q of quarantined) {
      expect(q.resourceType).toBe('X12_INTERCHANGE');
      expect(q.detail).toMatch(/^[a-z_]+ at /);
      expect(decryptPayload(keyring, q.payload).toString('latin1').startsWith('ISA')).toBe(true);
    }
    const reasons = quarantined.map((q) => q.detail?.split(' ')[0]);
    for (const kind of [
      'segment_count_mismatch',
      'set_count_mismatch',
      'group_count_mismatch',
      'set_control_mismatch',
    ])
      expect(reasons).toContain(kind);
    const remaining = await ls(inbox);
    for (const fault of faults) expect(remaining).not.toContain(`bad-${fault}.x12`);
    expect((await ls(join(inbox, 'quarantine'))).filter((n) => n.endsWith('.x12.enc'))).toHaveLength(
      faults.length,
    );

    const acks = await ls(outbox);
    const text = async (n: string) => readFile(join(outbox, n), 'latin1');
    for (let i = 0; i < faults.length; i += 1)
      expect(acks.filter((n) => n.startsWith(`0000${72001 + i}-`)).length).toBeGreaterThanOrEqual(1);
    const dupTa1 = await Promise.all(
      acks.filter((n) => n.startsWith('000071001-') && n.endsWith('.ta1')).map(text),
    );
    expect(dupTa1.some((t) => t.includes('*E*025~'))).toBe(true);
    const good999 = await text(acks.find((n) => n.startsWith('000071002-') && n.endsWith('.999')) as string);
    expect(good999.match(/AK9\*A/g)).toHaveLength(3);
    const logs = output.join('');
    expect(logs).not.toMatch(/SIMM\d{8}|SIMC\d{9}|Quillfeather|Brambleton/);
    await stop(receiver, 'SIGTERM');
  });
});
