import {
  Consumer,
  FetchIsolationLevels,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  Producer,
  type Message,
} from '@platformatic/kafka';
import type { BenchRecord, ClientAdapter, StageOptions } from './adapter.ts';

/**
 * `@platformatic/kafka`: a message stream, chunked here into batches of at most `maxBatch`
 * (whatever the stream holds when the previous chunk is done), then the same produce-then-commit
 * or one transaction per chunk as the other clients.
 */
export function createPlatformaticAdapter(brokers: readonly string[]): ClientAdapter {
  const base = { clientId: 'client-bench', bootstrapBrokers: [...brokers] };
  const closers: (() => Promise<void>)[] = [];
  let plain: Producer | undefined;

  const toMessage = (topic: string, r: BenchRecord) => ({
    topic,
    key: r.key,
    value: r.value,
    // Header keys must be Buffers (a string key makes the produce fail; with `idempotent` it hangs).
    headers: new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), v])),
  });

  return {
    name: 'platformatic',
    async produce(topic, records) {
      if (!plain) {
        plain = new Producer({ ...base, idempotent: true });
        const p = plain;
        closers.push(() => p.close());
      }
      await plain.send({ acks: -1, messages: records.map((r) => toMessage(topic, r)) });
    },
    async startStage(options: StageOptions) {
      const transactional = options.mode === 'transactional';
      const producer = new Producer({
        ...base,
        idempotent: true,
        ...(transactional ? { transactionalId: options.transactionalId } : {}),
      });
      const consumer = new Consumer({ ...base, groupId: options.groupId });
      const stream = await consumer.consume({
        topics: [options.from],
        autocommit: false,
        mode: MessagesStreamModes.COMMITTED,
        fallbackMode: MessagesStreamFallbackModes.EARLIEST,
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      });
      closers.push(
        () => stream.close(),
        () => consumer.close(true),
        () => producer.close(),
      );

      const queue: Message[] = [];
      let wake: (() => void) | undefined;
      let failed: Error | undefined;
      stream.on('data', (m: Message) => {
        queue.push(m);
        if (queue.length >= options.maxBatch * 4) stream.pause();
        wake?.();
      });
      stream.on('error', (err: unknown) => {
        failed = err instanceof Error ? err : new Error(String(err));
        wake?.();
      });

      async function processChunk(chunk: Message[]): Promise<void> {
        const outputs = chunk.map((m) => toMessage(options.to, options.transform(m.value, m.key)));
        const lastPerPartition = new Map<string, Message>();
        for (const m of chunk) lastPerPartition.set(`${m.topic}|${m.partition}`, m);
        if (transactional) {
          const tx = await producer.beginTransaction();
          try {
            await tx.addConsumer(consumer);
            await tx.send({ acks: -1, messages: outputs });
            options.beforeCommit(chunk.length);
            for (const m of lastPerPartition.values()) await tx.addOffset(m);
            await tx.commit();
          } catch (err) {
            await tx.abort().catch(() => undefined);
            throw err;
          }
        } else {
          await producer.send({ acks: -1, messages: outputs });
          options.beforeCommit(chunk.length);
          await consumer.commit({
            offsets: [...lastPerPartition.values()].map((m) => ({
              topic: m.topic,
              partition: m.partition,
              offset: m.offset + 1n,
              leaderEpoch: m.leaderEpoch,
            })),
          });
        }
        options.onChunk(chunk.length);
      }

      void (async () => {
        for (;;) {
          if (failed !== undefined) throw failed;
          if (queue.length === 0) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          const chunk = queue.splice(0, options.maxBatch);
          if (stream.isPaused() && queue.length < options.maxBatch * 2) stream.resume();
          await processChunk(chunk);
        }
      })().catch((err: unknown) => {
        process.stderr.write(`platformatic stage failed: ${String(err)}\n`);
        process.exit(1);
      });
    },
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    },
  };
}
