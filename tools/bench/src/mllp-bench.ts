/**
 * MLLP benchmark: durable-ACKed messages per second with 10 concurrent senders (ADT/ORU mix,
 * ~1 KB each, one message in flight per connection as interface engines send), then the ACK
 * latency at half that rate. The receiver runs in this process against the local stack, on a
 * topic of its own that is deleted afterwards. Prints figures; asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalText, createRegistry } from '@ehrflow/contracts';
import { runFeed, type FeedResult } from '@ehrflow/hl7-sim';
import { createKafka } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { receiverEnv, startReceiver } from '@ehrflow/mllp-receiver';

const HELP = `Usage: node tools/bench/src/mllp-bench.ts [--messages N] [--senders N] [--bytes N]

Runs the MLLP receiver in-process against the local stack (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
REDIS_URL from the environment: eval "$(npm run -s stack -- env)"), then
  1. throughput: N messages (default 6000) from --senders (default 10) unpaced senders, each
     waiting for its ACK before the next message (durable-ACKed messages per second);
  2. latency: the same senders paced at half the measured rate (p50/p99 ACK latency).
Messages are synthetic ADT/ORU of about --bytes (default 1024). Topics are unique and deleted.
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const total = arg('--messages', 6000);
const senders = arg('--senders', 10);
const bytes = arg('--bytes', 1024);

const id = `bench-mllp-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const rawTopic = `${id}.raw`;
const quarantineTopic = `${id}.quarantine`;
const logger = createLogger({ name: 'mllp-bench', level: 'warn' });
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
const schema = (file: string) =>
  canonicalText(
    JSON.parse(readFileSync(new URL(`../../../schemas/pipeline/${file}`, import.meta.url), 'utf8')),
  );

const kafka = createKafka({ brokers, clientId: `${id}-admin`, logger, mode: 'development' });
const admin = kafka.kafkajs.admin();
await admin.connect();
await admin.createTopics({
  topics: [rawTopic, quarantineTopic].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
  waitForLeaders: true,
});
const registry = createRegistry({ url: registryUrl });
await registry.register(`${rawTopic}-value`, schema('raw-envelope.avsc'));
await registry.register(`${quarantineTopic}-value`, schema('quarantine-record.avsc'));

const config = receiverEnv.parse({
  ...process.env,
  KAFKA_BROKERS: brokers.join(','),
  SCHEMA_REGISTRY_URL: registryUrl,
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  PHI_KEYRING: `k1:${randomBytes(32).toString('base64')}`,
  PSEUDONYM_KEY: randomBytes(32).toString('base64'),
  EHRFLOW_MODE: 'development',
  LOG_LEVEL: 'warn',
  MLLP_SOURCE_ID: id,
  MLLP_PORT: '0',
  MLLP_HOST: '127.0.0.1',
  MLLP_RAW_TOPIC: rawTopic,
  MLLP_QUARANTINE_TOPIC: quarantineTopic,
  MLLP_DEDUPE_WINDOW_MS: '600000',
  MLLP_MAX_CONNECTIONS_PER_SENDER: String(senders + 1),
  MLLP_TRANSACTIONAL_ID: `${id}-tx`,
});
const receiver = await startReceiver({ config, logger, env: process.env });

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};

async function run(
  phase: string,
  perSender: number,
  rate?: number,
): Promise<{ results: FeedResult[]; seconds: number }> {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: senders }, (_, s) =>
      runFeed({
        port: receiver.port,
        sendingApplication: `BENCH${s}`,
        controlIdPrefix: `${phase}-${s}`,
        count: perSender,
        seed: s + 1,
        deadlineMs: 300_000,
        targetBytes: bytes,
        ...(rate !== undefined ? { rate } : {}),
      }),
    ),
  );
  return { results, seconds: (performance.now() - started) / 1000 };
}

try {
  await run('warmup', 20);
  const perSender = Math.ceil(total / senders);
  const throughput = await run('tput', perSender);
  const acked = throughput.results.reduce((n, r) => n + r.acked.size, 0);
  const rate = acked / throughput.seconds;
  const latencyRun = await run('lat', Math.ceil(perSender / 2), rate / 2 / senders);
  const latencies = latencyRun.results.flatMap((r) => r.latenciesMs);
  const lines = [
    `mllp throughput   ${rate.toFixed(0)} msgs/s durable-ACKed (${acked} messages, ${senders} senders, ~${bytes} B, ${throughput.seconds.toFixed(1)} s)`,
    `mllp ack latency  at ${(rate / 2).toFixed(0)} msgs/s: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms (${latencies.length} messages)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await receiver.stop();
  await admin.deleteTopics({ topics: [rawTopic, quarantineTopic] }).catch(() => undefined);
  await admin.disconnect();
  await registry.deleteSubject(`${rawTopic}-value`).catch(() => undefined);
  await registry.deleteSubject(`${quarantineTopic}-value`).catch(() => undefined);
  await registry.close();
}
