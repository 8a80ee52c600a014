/**
 * X12 throughput, printed (not asserted): `npm run bench:x12 -- [claims] [--parse-only]`.
 * 1) parse: the streaming envelope check over a generated 837P file (MB/s, sets/s, claims/s);
 * 2) map: 837P transaction sets → Claim resources with `schemas/x12/mapping.json` (claims/s);
 * 3) receive: the billing receiver on the local stack, from a file's `.done` marker to every set
 *    acknowledged on a fresh `ehr.raw` topic (claims/s, sets/s). Topics and subjects are unique to
 *    the run and deleted afterwards. `--parse-only` runs 1 and 2 alone (no stack needed).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@ehrflow/config';
import { canonicalText, createRegistry } from '@ehrflow/contracts';
import { createKafka } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { X12EnvelopeChecker, loadX12Mapping } from '@ehrflow/x12';
import { syntheticInterchange } from '@ehrflow/x12-sim';
import { billingEnv, startBillingReceiver } from '@ehrflow/billing-receiver';

const HELP = `Usage: npm run bench:x12 -- [claims] [--parse-only]

Generates synthetic 837P files (5 claims per transaction set, default 20000 claims) and prints
the envelope-check rate, the mapping rate and, unless --parse-only, the billing receiver's rate
into a fresh ehr.raw topic on the local stack (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL).
`;
const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}
const CLAIMS = Number(args.find((a) => !a.startsWith('--')) ?? '20000');
const PER_SET = 5;
const SETS = Math.ceil(CLAIMS / PER_SET);
const logger = createLogger({ name: 'x12-bench', level: 'warn' });
const rate = (n: number, ms: number) => Math.round((n * 1000) / ms).toLocaleString('en-US');

const file = syntheticInterchange({
  seed: 1,
  controlNumber: 1,
  groups: [{ kind: '837P', sets: SETS, claimsPerSet: PER_SET }],
});
const claims = SETS * PER_SET;
process.stdout.write(
  `837P file: ${(file.bytes.length / 1e6).toFixed(1)} MB, ${SETS} sets, ${claims} claims\n`,
);

// 1) parse
let t = performance.now();
const checker = new X12EnvelopeChecker();
for (let i = 0; i < file.bytes.length; i += 256 * 1024) checker.push(file.bytes.subarray(i, i + 256 * 1024));
const check = checker.finish();
let ms = performance.now() - t;
if (check.problem !== undefined) throw new Error(`generated file refused: ${check.problem.kind}`);
process.stdout.write(
  `parse (envelope check): ${ms.toFixed(0)} ms, ${((file.bytes.length / 1e6) * (1000 / ms)).toFixed(1)} MB/s, ${rate(SETS, ms)} sets/s, ${rate(claims, ms)} claims/s\n`,
);

// 2) map
const mapping = loadX12Mapping(new URL('../../../schemas/x12/mapping.json', import.meta.url).pathname);
const isa = file.bytes.subarray(check.header?.start, check.header?.end);
const gs = file.bytes.subarray(check.groups[0]?.header.start, check.groups[0]?.header.end);
const payloads = check.sets.map((s) => Buffer.concat([isa, gs, file.bytes.subarray(s.start, s.end)]));
t = performance.now();
let mapped = 0;
for (const p of payloads) mapped += mapping.map(p).resources.length;
ms = performance.now() - t;
process.stdout.write(`map (set → Claim resources): ${ms.toFixed(0)} ms, ${rate(mapped, ms)} claims/s\n`);

if (!args.includes('--parse-only')) {
  const id = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const prefix = `bench-x12-${id}.`;
  const rawTopic = `${prefix}ehr.raw`;
  const quarantineTopic = `${prefix}ehr.quarantine`;
  const inbox = await mkdtemp(join(tmpdir(), 'x12-bench-in-'));
  const outbox = await mkdtemp(join(tmpdir(), 'x12-bench-out-'));
  const env = {
    ...process.env,
    PHI_KEYRING: `k1:${randomBytes(32).toString('base64')}`,
    PSEUDONYM_KEY: randomBytes(32).toString('base64'),
    EHRFLOW_MODE: 'development',
    LOG_LEVEL: 'warn',
    X12_SOURCE_ID: `bench-${id}`,
    X12_INBOX_DIR: inbox,
    X12_OUTBOX_DIR: outbox,
    X12_POLL_MS: '20',
    X12_REQUIRE_MARKER: 'true',
    X12_RAW_TOPIC: rawTopic,
    X12_QUARANTINE_TOPIC: quarantineTopic,
    X12_TRANSACTIONAL_ID: `${prefix}tx`,
  };
  const config = loadConfig(billingEnv, env);
  const kafka = createKafka({
    brokers: config.KAFKA_BROKERS,
    clientId: `${prefix}bench`,
    logger,
    mode: 'development',
  });
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  const registry = createRegistry({ url: config.SCHEMA_REGISTRY_URL });
  const schemas = new URL('../../../schemas/pipeline/', import.meta.url).pathname;
  try {
    await admin.createTopics({
      topics: [rawTopic, quarantineTopic].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
      waitForLeaders: true,
    });
    for (const [topic, schema] of [
      [rawTopic, 'raw-envelope.avsc'],
      [quarantineTopic, 'quarantine-record.avsc'],
    ] as const)
      await registry.register(
        `${topic}-value`,
        canonicalText(JSON.parse(await readFile(join(schemas, schema), 'utf8'))),
      );
    const receiver = await startBillingReceiver({ config, logger, env });
    try {
      await writeFile(join(inbox, 'bench.x12'), file.bytes);
      t = performance.now();
      await writeFile(join(inbox, 'bench.x12.done'), '');
      const deadline = Date.now() + 600_000;
      while (!(await readdir(join(inbox, 'done')).catch(() => [] as string[])).includes('bench.x12')) {
        if (Date.now() > deadline) throw new Error('the receiver did not finish the file in 10 minutes');
        await new Promise((r) => setTimeout(r, 10));
      }
      ms = performance.now() - t;
      const offsets = await admin.fetchTopicOffsets(rawTopic);
      const onTopic = offsets.reduce((n, o) => n + Number(o.high), 0);
      process.stdout.write(
        `receive (file → ehr.raw, acks=all, batches of ${config.X12_BATCH_SETS} sets): ${ms.toFixed(0)} ms, ${rate(SETS, ms)} sets/s, ${rate(claims, ms)} claims/s (offsets incl. transaction markers: ${onTopic})\n`,
      );
    } finally {
      await receiver.stop();
    }
  } finally {
    await admin.deleteTopics({ topics: [rawTopic, quarantineTopic] }).catch(() => undefined);
    await admin.disconnect();
    for (const topic of [rawTopic, quarantineTopic])
      await registry.deleteSubject(`${topic}-value`).catch(() => undefined);
    await registry.close();
    await rm(inbox, { recursive: true, force: true });
    await rm(outbox, { recursive: true, force: true });
  }
}
