import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type Admin, createProducer, type KafkaClient } from '@ehrflow/kafka';
import type { Codec } from '@ehrflow/contracts';
import {
  type Child,
  type Scratch,
  serviceRuntimeEnv,
  startChild,
  topicRecordCount,
} from '@ehrflow/pipeline-tools';
import { waitFor } from '@ehrflow/testing';
import { cpuBetween, ownCpuSeconds, totalCpu, type CpuFigure, type CpuSample } from './cpu.ts';
import { createMachineProbe, type MachineCpu, type MachineSample } from './machine-cpu.ts';

export interface PassThroughOptions {
  readonly kafka: KafkaClient;
  readonly admin: Admin;
  readonly codec: Codec;
  readonly scratch: Scratch;
  readonly runId: string;
  readonly records: number;
  /** Plaintext payload size; the encoded record is ~120 bytes larger. */
  readonly payloadBytes: number;
  readonly maxBatch: number;
  readonly partitions: number;
  readonly logDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly onProgress?: (line: string) => void;
}

export interface StageFigure {
  readonly stage: string;
  readonly perSecond: number;
  readonly peakRssBytes: number | undefined;
  /** Process CPU of the stage over the measured span, per record it handled. */
  readonly cpu?: CpuFigure | undefined;
}

export interface PassThroughResult {
  readonly records: number;
  readonly recordBytes: number;
  /** Resources per second from the first record consumed by stage 1 to the last produced by stage 4. */
  readonly perSecond: number;
  readonly durationMs: number;
  readonly stages: readonly StageFigure[];
  /** CPU of all four stages per record through the pipeline. */
  readonly cpu: CpuFigure | undefined;
  /**
   * The whole machine's CPU from stage 1's first record to the last record in the last topic:
   * the stages, this process (`bench`: seeding is over, it polls the topics), the stack, the rest.
   * Absent off Linux.
   */
  readonly machine?: MachineCpu | undefined;
}

export const STAGES = 4;

/**
 * The pass-through reference: four stage processes (consume, decode, encode, produce with the
 * services' runner and chunk size) chained through temporary topics. The input topic is filled
 * first; the clock runs from the first record stage 1 takes to the moment the last topic holds
 * every record.
 */
export async function measurePassThrough(options: PassThroughOptions): Promise<PassThroughResult> {
  const { admin, scratch, runId } = options;
  const topics = Array.from({ length: STAGES + 1 }, (_, i) => `bench.${runId}.pt${i}`);
  await scratch.createTopics(topics, options.partitions);
  await scratch.registerValueSchema(topics, 'pipeline/raw-envelope.avsc');

  const recordBytes = await seed(options, topics[0] as string);
  options.onProgress?.(`pass-through: ${options.records} records of ~${recordBytes} bytes in ${topics[0]}`);

  const firsts = new Map<number, number>();
  /** CPU at each stage's first chunk, and its latest stats (CPU and records committed). */
  const cpuAtFirst = new Map<number, CpuSample>();
  const latest = new Map<number, CpuSample>();
  const probe = createMachineProbe(options.env);
  let machineAtFirst: { readonly sample: MachineSample | undefined; readonly ownCpu: number } | undefined;
  const children: Child[] = [];
  try {
    for (let i = 0; i < STAGES; i++) {
      children.push(
        await startChild({
          name: `stage${i + 1}`,
          args: [
            join(import.meta.dirname, 'pass-through-stage.ts'),
            topics[i] as string,
            topics[i + 1] as string,
            `bench.${runId}.pt-group${i + 1}`,
            String(options.maxBatch),
          ],
          // The runtime settings every service starts with (young-generation size, malloc), so the
          // stages measure the services' Kafka path under the services' own heap and allocator.
          env: { ...options.env, ...serviceRuntimeEnv('pass-through', options.env) },
          logFile: join(options.logDir, `pass-through-stage${i + 1}.log`),
          onJson: (event) => {
            if (event.event === 'first' && typeof event.at === 'number') {
              firsts.set(i, event.at);
              if (i === 0) machineAtFirst = { sample: probe?.sample(), ownCpu: ownCpuSeconds() };
              if (typeof event.cpuSeconds === 'number')
                cpuAtFirst.set(i, { cpuSeconds: event.cpuSeconds, records: 0 });
            }
            if (
              event.event === 'stats' &&
              typeof event.cpuSeconds === 'number' &&
              typeof event.committed === 'number'
            )
              latest.set(i, { cpuSeconds: event.cpuSeconds, records: event.committed });
          },
        }),
      );
    }
    const done = new Map<number, number>();
    await waitFor(
      async () => {
        for (let i = 1; i <= STAGES; i++) {
          if (!done.has(i) && (await topicRecordCount(admin, topics[i] as string)) >= options.records) {
            done.set(i, Date.now());
          }
        }
        const dead = children.find((c) => !c.running());
        if (dead !== undefined)
          throw new Error(`pass-through ${dead.name} exited early; see its log in ${options.logDir}`);
        return done.size === STAGES;
      },
      {
        timeoutMs: options.timeoutMs,
        intervalMs: 100,
        what: 'the pass-through pipeline to copy every record',
      },
    );
    const machineAtEnd = { sample: probe?.sample(), ownCpu: ownCpuSeconds() };
    const start = firsts.get(0);
    const end = done.get(STAGES);
    if (start === undefined || end === undefined)
      throw new Error('pass-through: stage 1 never reported its first record');
    // Each stage reports its CPU once a second; wait for a report that counts every record committed.
    await waitFor(
      () => Promise.resolve(children.every((_, i) => (latest.get(i)?.records ?? 0) >= options.records)),
      { timeoutMs: 10_000, intervalMs: 100, what: 'every pass-through stage to report its CPU' },
    ).catch(() => undefined);
    const stages = children.map((child, i): StageFigure => {
      const began = firsts.get(i) ?? start;
      const finished = done.get(i + 1) ?? end;
      const first = cpuAtFirst.get(i);
      const last = latest.get(i);
      return {
        stage: `pass-through stage ${i + 1}`,
        perSecond: rate(options.records, finished - began),
        peakRssBytes: child.peakRssBytes(),
        cpu: first === undefined || last === undefined ? undefined : cpuBetween(first, last),
      };
    });
    const cpu = totalCpu(
      stages.map((s) => s.cpu),
      options.records,
    );
    return {
      records: options.records,
      recordBytes,
      perSecond: rate(options.records, end - start),
      durationMs: end - start,
      stages,
      cpu,
      machine: probe?.between(machineAtFirst?.sample, machineAtEnd.sample, options.records, {
        services: cpu?.cpuSeconds,
        bench: machineAtFirst === undefined ? undefined : machineAtEnd.ownCpu - machineAtFirst.ownCpu,
      }),
    };
  } finally {
    await Promise.all(children.map((c) => c.stop(10_000)));
  }
}

async function seed(options: PassThroughOptions, topic: string): Promise<number> {
  const producer = createProducer({ kafka: options.kafka, codec: options.codec });
  await producer.connect();
  const payload = randomBytes(options.payloadBytes);
  let recordBytes = 0;
  try {
    const chunk = 500;
    for (let from = 0; from < options.records; from += chunk) {
      const messages = [];
      for (let i = from; i < Math.min(options.records, from + chunk); i++) {
        const value = benchEnvelope(options.runId, i, payload);
        messages.push({ key: pseudoKey(i % 1000), value });
      }
      await producer.send(topic, messages);
      if (recordBytes === 0)
        recordBytes = (await options.codec.encode(`${topic}-value`, messages[0]?.value)).length;
    }
  } finally {
    await producer.disconnect();
  }
  return recordBytes;
}

/** A raw envelope of the benchmark: random bytes stand in for the encrypted payload. */
export function benchEnvelope(runId: string, i: number, payload: Buffer): Record<string, unknown> {
  return {
    recordId: createHash('sha256').update(`${runId}/${i}`).digest('hex').slice(0, 32),
    jobId: `bench-${runId}`,
    sourceId: 'bench',
    resourceType: 'Observation',
    kind: 'UPSERT',
    format: 'FHIR_JSON',
    payload,
    keyId: 'bench',
    sourceLocator: `file 0 line ${i}`,
    extractedAt: Date.now(),
    sizeBytes: payload.length,
  };
}

function pseudoKey(patient: number): string {
  return createHash('sha256').update(`bench-patient-${patient}`).digest('hex').slice(0, 32);
}

export function rate(records: number, ms: number): number {
  return ms <= 0 ? 0 : Math.round((records * 1000) / ms);
}
