import type { OutgoingMessage, RecordProducer } from '@ehrflow/kafka';

/**
 * Group commit to Kafka: envelopes from every connection are gathered while one request is in
 * flight and sent together (acks=all) when it returns, so throughput grows with load while a lone
 * message still goes out at once. The number of envelopes waiting is bounded by the connections:
 * each waits for its write before reading on, and `overloaded()` tells them to stop reading early.
 */
export interface GroupWriter {
  /** Resolves once every message is acknowledged by all in-sync replicas; rejects with the Kafka error. */
  write(messages: readonly OutgoingMessage[]): Promise<void>;
  /** All of `messages` in one Kafka transaction (a batch): visible to read_committed readers whole or not at all. */
  writeAtomic(messages: readonly OutgoingMessage[]): Promise<void>;
  /** True while at least `maxPending` envelopes wait. */
  overloaded(): boolean;
  /** Resolves when the writer is below its pending limit again. */
  whenRoom(): Promise<void>;
  readonly pending: number;
  /** Resolves when nothing waits or is in flight (drain on SIGTERM). */
  idle(): Promise<void>;
}

interface Entry {
  readonly messages: readonly OutgoingMessage[];
  resolve(): void;
  reject(err: unknown): void;
}

export interface GroupWriterOptions {
  readonly topic: string;
  /**
   * Idempotent producers, one request in flight each. Several let requests overlap; ordering is
   * unaffected where it matters, because a sender sends its next message only after the ACK.
   */
  readonly producers: readonly RecordProducer[];
  /** Transactional producer for `writeAtomic`; without it batches go through `producer` too. */
  readonly atomicProducer?: RecordProducer;
  readonly maxPending: number;
  readonly maxSendBatch: number;
  readonly onSent?: (messages: number, ms: number) => void;
}

export function createGroupWriter(options: GroupWriterOptions): GroupWriter {
  const { topic, producers, maxPending, maxSendBatch } = options;
  const queue: Entry[] = [];
  let queued = 0;
  let inFlight = 0;
  const idleProducers = [...producers];
  const firstProducer = producers[0];
  if (firstProducer === undefined) throw new RangeError('the group writer needs at least one producer');
  let atomicInFlight = 0;
  let roomWaiters: (() => void)[] = [];
  let idleWaiters: (() => void)[] = [];
  let atomicChain: Promise<void> = Promise.resolve();

  const pendingCount = () => queued + inFlight + atomicInFlight;
  const settleWaiters = () => {
    if (pendingCount() < maxPending && roomWaiters.length > 0) {
      const waiters = roomWaiters;
      roomWaiters = [];
      for (const w of waiters) w();
    }
    if (pendingCount() === 0 && idleWaiters.length > 0) {
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const w of waiters) w();
    }
  };

  const pump = (): void => {
    const producer = queue.length === 0 ? undefined : idleProducers.pop();
    if (producer === undefined) return;
    const taken: Entry[] = [];
    let count = 0;
    while (queue.length > 0) {
      const next = queue[0] as Entry;
      if (taken.length > 0 && count + next.messages.length > maxSendBatch) break;
      queue.shift();
      taken.push(next);
      count += next.messages.length;
    }
    queued -= count;
    inFlight += count;
    const started = performance.now();
    producer
      .send(
        topic,
        taken.flatMap((e) => e.messages),
      )
      .then(
        () => {
          options.onSent?.(count, performance.now() - started);
          for (const e of taken) e.resolve();
        },
        (err: unknown) => {
          for (const e of taken) e.reject(err);
        },
      )
      .finally(() => {
        inFlight -= count;
        idleProducers.push(producer);
        settleWaiters();
        pump();
      });
    pump();
  };

  return {
    write(messages) {
      if (messages.length === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        queue.push({ messages, resolve, reject });
        queued += messages.length;
        pump();
      });
    },
    writeAtomic(messages) {
      if (messages.length === 0) return Promise.resolve();
      const target = options.atomicProducer ?? firstProducer;
      atomicInFlight += messages.length;
      // One transaction at a time: a transactional producer runs them in sequence anyway.
      const run = atomicChain.then(() => target.send(topic, messages));
      atomicChain = run.catch(() => undefined);
      return run.finally(() => {
        atomicInFlight -= messages.length;
        settleWaiters();
      });
    },
    overloaded: () => pendingCount() >= maxPending,
    whenRoom() {
      if (pendingCount() < maxPending) return Promise.resolve();
      return new Promise((resolve) => roomWaiters.push(resolve));
    },
    get pending() {
      return pendingCount();
    },
    idle() {
      if (pendingCount() === 0) return Promise.resolve();
      return new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
