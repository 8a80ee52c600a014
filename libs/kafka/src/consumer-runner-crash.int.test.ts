import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, localStack, uniqueName, waitFor } from '@ehrflow/testing';
import { consumerLag, totalLag } from './admin.ts';
import type { KafkaClient } from './client.ts';
import type { DeliveryMode } from './delivery.ts';
import { cleanUp, produceNumbered, readAll, testClient } from './testing/kafka.ts';

const WORKER = fileURLToPath(new URL('./testing/worker.ts', import.meta.url));

interface WorkerEvent {
  readonly event: string;
  readonly count?: number;
  readonly stats?: { committed: number };
}

/** A runner in a child process, with its stdout events and its exit. */
class Worker {
  readonly events: WorkerEvent[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly child: ChildProcess;

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, [WORKER], {
      env: { ...process.env, KAFKA_BROKERS: localStack().brokers, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.events.push(JSON.parse(line) as WorkerEvent);
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  count(event: string): number {
    return this.events.filter((e) => e.event === event).length;
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

let client: KafkaClient;
let admin: Admin;
const created: string[] = [];
const workers: Worker[] = [];

beforeAll(async () => {
  client = testClient('runner-crash-int');
  admin = client.kafkajs.admin();
  await admin.connect();
});

afterAll(async () => {
  for (const w of workers) w.kill('SIGKILL');
  await cleanUp(admin, created);
  await admin.disconnect();
});

function startWorker(env: Record<string, string>): Worker {
  const worker = new Worker(env);
  workers.push(worker);
  return worker;
}

describe.each<DeliveryMode>(['at-least-once', 'transactional'])('runner killed mid-batch, %s', (mode) => {
  it('loses nothing after SIGKILL and restart (and duplicates nothing when transactional)', async () => {
    const total = 2000;
    const input = uniqueName('kt.kill.in');
    const output = uniqueName('kt.kill.out');
    await createTopics(admin, [input, output], 3);
    created.push(input, output);
    await produceNumbered(client, input, 0, total);
    const env = {
      WORKER_INPUT: input,
      WORKER_OUTPUT: output,
      WORKER_GROUP: uniqueName('kt.kill.group'),
      WORKER_TXID: uniqueName('kt.kill.tx'),
      WORKER_MODE: mode,
      WORKER_MAX_BATCH: '50',
      // Outputs of a chunk are written, then the worker lingers before committing: the kill
      // lands while produced outputs are not yet committed (an open transaction, or acked
      // records whose offsets are not committed).
      WORKER_DELAY_MS: '300',
      WORKER_DELAY_AT: 'commit',
    };

    const first = startWorker(env);
    await waitFor(() => first.count('produced') >= 8, {
      timeoutMs: 60_000,
      intervalMs: 5,
      what: 'produce 8 chunks',
    });
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = startWorker({ ...env, WORKER_DELAY_MS: '0' });
    await waitFor(async () => totalLag(await consumerLag(admin, env.WORKER_GROUP, [input])) === 0, {
      timeoutMs: 90_000,
      intervalMs: 500,
      what: 'drain the input after restart',
    });
    second.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);

    const ids = ((await readAll(client, output, { readCommitted: true })) as { id: string }[]).map(
      (v) => v.id,
    );
    const distinct = new Set(ids);
    const missing = Array.from({ length: total }, (_, i) => `r${i}`).filter((id) => !distinct.has(id));
    expect(missing).toEqual([]);
    console.log(
      `[kill ${mode}] outputs ${ids.length} for ${total} inputs (${ids.length - distinct.size} duplicates)`,
    );
    if (mode === 'transactional') {
      expect(ids.length).toBe(total);
      // The kill did land inside an open transaction: its outputs exist, aborted, in the log.
      expect((await readAll(client, output, { readCommitted: false })).length).toBeGreaterThan(total);
    } else {
      // The kill did land between produce and commit: that chunk was produced twice.
      expect(ids.length).toBeGreaterThan(total);
    }
  });
});

describe.each<DeliveryMode>(['at-least-once', 'transactional'])('runner drained by SIGTERM, %s', (mode) => {
  it('finishes and commits the in-flight chunk, then exits 0', async () => {
    const input = uniqueName('kt.drain.in');
    const output = uniqueName('kt.drain.out');
    await createTopics(admin, [input, output], 1);
    created.push(input, output);
    await produceNumbered(client, input, 0, 200);
    const group = uniqueName('kt.drain.group');
    const worker = startWorker({
      WORKER_INPUT: input,
      WORKER_OUTPUT: output,
      WORKER_GROUP: group,
      WORKER_TXID: uniqueName('kt.drain.tx'),
      WORKER_MODE: mode,
      WORKER_MAX_BATCH: '50',
      WORKER_DELAY_MS: '1500',
      WORKER_DELAY_AT: 'handler',
      WORKER_STOP_TIMEOUT_MS: '15000',
    });
    await waitFor(() => worker.count('chunk') >= 1, { timeoutMs: 60_000, what: 'start a chunk' });
    const signalled = Date.now();
    worker.kill('SIGTERM');
    const exit = await worker.exited;
    const drainMs = Date.now() - signalled;

    expect(exit.code).toBe(0);
    expect(drainMs).toBeLessThan(15_000 + 5_000);
    const started = worker.events.filter((e) => e.event === 'chunk').reduce((n, e) => n + (e.count ?? 0), 0);
    const stopped = worker.events.find((e) => e.event === 'stopped');
    // The chunk in flight at SIGTERM was finished and committed; no chunk started after it was left half done.
    expect(started).toBeGreaterThanOrEqual(50);
    expect(stopped?.stats?.committed).toBe(started);
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [input] });
    expect(offsets?.partitions[0]?.offset).toBe(String(started));
    const values = await readAll(client, output, { readCommitted: true });
    expect(values.length).toBe(started);
    console.log(`[drain ${mode}] exit 0 after ${drainMs} ms, ${started} records committed`);
  });
});
