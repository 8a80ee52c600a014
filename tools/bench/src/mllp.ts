/**
 * The MLLP part of the benchmark: durable-ACKed messages per second with 10 concurrent senders
 * (ADT/ORU mix, ~1 KB, one message in flight per connection as interface engines send), then the
 * ACK latency at half that rate. The receiver runs in this process against the local stack, on
 * topics of its own that are deleted afterwards. Measures; asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { canonicalText, createRegistry } from '@ehrflow/contracts';
import { createKafka } from '@ehrflow/kafka';
import type { Logger } from '@ehrflow/logging';
import { receiverEnv, startReceiver } from '@ehrflow/mllp-receiver';
import { percentile } from './end-to-end.ts';
import type { SendersJob, SendersResult } from './mllp-senders.ts';

export interface MllpBenchOptions {
  /** KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL (and TLS settings) of the stack. */
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  readonly messages: number;
  readonly senders: number;
  readonly bytes: number;
  readonly onProgress?: (line: string) => void;
}

export interface MllpBenchResult {
  readonly perSecond: number;
  readonly messages: number;
  readonly senders: number;
  readonly bytes: number;
  readonly seconds: number;
  /**
   * CPU time of the receiver's thread per durable-ACKed message during the throughput run (user +
   * system; the senders run in a worker thread and are not counted).
   */
  readonly cpuMsPerMessage: number;
  /** The receiver's CPU over wall time during the throughput run (1.0 = one core busy). */
  readonly cores: number;
  readonly latency: {
    readonly targetPerSecond: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly samples: number;
  };
}

export async function measureMllp(options: MllpBenchOptions): Promise<MllpBenchResult> {
  const { env, logger, senders, bytes } = options;
  const id = `bench-mllp-${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const rawTopic = `${id}.raw`;
  const quarantineTopic = `${id}.quarantine`;
  const brokers = (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
  const registryUrl = env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
  const schema = (file: string) =>
    canonicalText(
      JSON.parse(readFileSync(new URL(`../../../schemas/pipeline/${file}`, import.meta.url), 'utf8')),
    );
  const kafka = createKafka({ brokers, clientId: `${id}-admin`, logger, mode: 'development' });
  const admin = kafka.kafkajs.admin();
  await admin.connect();
  const registry = createRegistry({ url: registryUrl });
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  try {
    await admin.createTopics({
      topics: [rawTopic, quarantineTopic].map((topic) => ({ topic, numPartitions: 3, replicationFactor: 1 })),
      waitForLeaders: true,
    });
    await registry.register(`${rawTopic}-value`, schema('raw-envelope.avsc'));
    await registry.register(`${quarantineTopic}-value`, schema('quarantine-record.avsc'));
    const config = receiverEnv.parse({
      ...env,
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      REDIS_URL: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
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
    receiver = await startReceiver({ config, logger, env });
    const port = receiver.port;

    // The senders run in a worker thread, so this thread's CPU time is the receiver's.
    const run = async (phase: string, perSender: number, rate?: number) => {
      const job: SendersJob = {
        port,
        phase,
        senders,
        perSender,
        bytes,
        ...(rate !== undefined ? { rate } : {}),
      };
      const started = performance.now();
      const worker = new Worker(new URL('./mllp-senders.ts', import.meta.url), { workerData: job });
      const results = await new Promise<SendersResult[]>((resolve, reject) => {
        worker.once('message', (m: SendersResult[]) => resolve(m));
        worker.once('error', reject);
        worker.once('exit', (code) =>
          reject(new Error(`MLLP senders exited (code ${code}) without a result`)),
        );
      });
      const seconds = (performance.now() - started) / 1000;
      await worker.terminate();
      return { results, seconds };
    };

    await run('warmup', 20);
    const perSender = Math.ceil(options.messages / senders);
    options.onProgress?.(`mllp: throughput, ${perSender * senders} messages from ${senders} senders`);
    const cpuBefore = process.threadCpuUsage();
    const throughput = await run('tput', perSender);
    const cpu = process.threadCpuUsage(cpuBefore);
    const acked = throughput.results.reduce((n, r) => n + r.acked, 0);
    const perSecond = acked / throughput.seconds;
    const cpuMs = (cpu.user + cpu.system) / 1000;
    options.onProgress?.(`mllp: latency at ${Math.round(perSecond / 2)} msgs/s`);
    const latencyRun = await run('lat', Math.ceil(perSender / 2), perSecond / 2 / senders);
    const latencies = latencyRun.results.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
    return {
      perSecond: Math.round(perSecond),
      messages: acked,
      senders,
      bytes,
      seconds: Math.round(throughput.seconds * 10) / 10,
      cpuMsPerMessage: acked === 0 ? Number.NaN : Math.round((cpuMs / acked) * 1000) / 1000,
      cores: Math.round((cpuMs / 1000 / throughput.seconds) * 100) / 100,
      latency: {
        targetPerSecond: Math.round(perSecond / 2),
        p50Ms: Math.round(percentile(latencies, 0.5) * 10) / 10,
        p99Ms: Math.round(percentile(latencies, 0.99) * 10) / 10,
        samples: latencies.length,
      },
    };
  } finally {
    await receiver?.stop();
    await admin.deleteTopics({ topics: [rawTopic, quarantineTopic] }).catch(() => undefined);
    await admin.disconnect();
    await registry.deleteSubject(`${rawTopic}-value`).catch(() => undefined);
    await registry.deleteSubject(`${quarantineTopic}-value`).catch(() => undefined);
    await registry.close();
  }
}

/** The MLLP lines of the benchmark's report. */
export function formatMllp(r: MllpBenchResult): string[] {
  return [
    `mllp receiver: ${r.perSecond} msgs/s durable-ACKed (${r.messages} messages, ${r.senders} senders, ~${r.bytes} B, ` +
      `${r.seconds} s; target 2,000); receiver CPU ${r.cpuMsPerMessage} ms/message, ${r.cores} cores busy`,
    `mllp ACK latency at ${r.latency.targetPerSecond} msgs/s (half rate): p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms ` +
      `over ${r.latency.samples} messages (target p99 < 50 ms)`,
  ];
}
