import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

export interface BrokerLimitOptions {
  /** File holding the Java class path of Kafka and its tools (`deploy/local/stack` writes it). */
  readonly classpathFile: string;
  readonly brokers: string;
  readonly topic: string;
  readonly records: number;
  readonly recordSizeBytes: number;
  /** Extra producer properties; acks=all is always set. */
  readonly producerProps?: Readonly<Record<string, string>>;
  /** Kill the tool after this long. */
  readonly timeoutMs: number;
}

export interface BrokerLimitResult {
  readonly records: number;
  readonly recordsPerSecond: number;
  readonly mbPerSecond: number;
  readonly avgLatencyMs: number;
  readonly p50LatencyMs: number;
  readonly p99LatencyMs: number;
  readonly producerProps: Readonly<Record<string, string>>;
}

/**
 * Batching of the reference producer: acks=all like the pipeline, batches large enough that a
 * 500-record chunk of ~1.5 KB records travels in a few requests, as kafkajs sends one chunk.
 */
export const DEFAULT_PERF_PROPS: Readonly<Record<string, string>> = {
  acks: 'all',
  'batch.size': '262144',
  'linger.ms': '5',
  'enable.idempotence': 'true',
};

/**
 * Runs Kafka's own `ProducerPerformance` tool with the JDK against the broker: the most records
 * per second this broker takes on this machine at this record size.
 * @see https://kafka.apache.org/documentation/#basic_ops_producer_perf (kafka-producer-perf-test)
 */
export async function measureBrokerLimit(options: BrokerLimitOptions): Promise<BrokerLimitResult> {
  const classpath = (await readFile(options.classpathFile, 'utf8')).trim();
  const props = {
    ...DEFAULT_PERF_PROPS,
    ...options.producerProps,
    acks: 'all',
    'bootstrap.servers': options.brokers,
  };
  const args = [
    '-Xmx256m',
    '-cp',
    classpath,
    'org.apache.kafka.tools.ProducerPerformance',
    '--topic',
    options.topic,
    '--num-records',
    String(options.records),
    '--record-size',
    String(options.recordSizeBytes),
    '--throughput',
    '-1',
    '--producer-props',
    ...Object.entries(props).map(([k, v]) => `${k}=${v}`),
  ];
  const output = await run('java', args, options.timeoutMs);
  const summary = parsePerfSummary(output);
  if (summary === undefined) {
    throw new Error(`ProducerPerformance printed no summary line; last output:\n${output.slice(-2000)}`);
  }
  const shown: Record<string, string> = { ...props };
  delete shown['bootstrap.servers'];
  return { ...summary, producerProps: shown };
}

/**
 * Parses the tool's final line, e.g. `200000 records sent, 61050.1 records/sec (87.33 MB/sec),
 * 250.12 ms avg latency, 600.00 ms max latency, 230 ms 50th, 480 ms 95th, 560 ms 99th, 590 ms 99.9th.`
 */
export function parsePerfSummary(output: string): Omit<BrokerLimitResult, 'producerProps'> | undefined {
  const re =
    /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, [\d.]+ ms max latency, ([\d.]+) ms 50th, [\d.]+ ms 95th, ([\d.]+) ms 99th/;
  const lines = output.split('\n').filter((l) => re.test(l));
  const m = re.exec(lines[lines.length - 1] ?? '');
  if (m === null) return undefined;
  return {
    records: Number(m[1]),
    recordsPerSecond: Number(m[2]),
    mbPerSecond: Number(m[3]),
    avgLatencyMs: Number(m[4]),
    p50LatencyMs: Number(m[5]),
    p99LatencyMs: Number(m[6]),
  };
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ended with ${code ?? signal}; last output:\n${output.slice(-2000)}`));
    });
  });
}
