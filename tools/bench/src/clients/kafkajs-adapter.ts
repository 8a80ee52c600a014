import { Kafka, logLevel, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { BenchRecord, ClientAdapter, StageOptions } from './adapter.ts';

/** kafkajs 2.2.4, driven the way `libs/kafka` drives it (eachBatch, manual commits). */
export function createKafkaJsAdapter(brokers: readonly string[]): ClientAdapter {
  const kafka = new Kafka({ clientId: 'client-bench', brokers: [...brokers], logLevel: logLevel.ERROR });
  const closers: (() => Promise<void>)[] = [];
  let plain: Producer | undefined;

  const toMessage = (r: BenchRecord) => ({ key: r.key, value: r.value, headers: { ...r.headers } });

  return {
    name: 'kafkajs',
    async produce(topic, records) {
      if (!plain) {
        plain = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        await plain.connect();
        const p = plain;
        closers.push(() => p.disconnect());
      }
      await plain.send({ topic, acks: -1, messages: records.map(toMessage) });
    },
    async startStage(options: StageOptions) {
      const transactional = options.mode === 'transactional';
      const producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        ...(transactional ? { transactionalId: options.transactionalId } : {}),
      });
      // 4 MiB per partition (as the loader fetches), so that fetches fill whole chunks of maxBatch
      // as the other clients' do; kafkajs' default 1 MiB splits each fetch into 500 + ~150.
      const consumer: Consumer = kafka.consumer({
        groupId: options.groupId,
        readUncommitted: false,
        maxBytesPerPartition: 4 * 1024 * 1024,
        maxBytes: 16 * 1024 * 1024,
      });
      await producer.connect();
      await consumer.connect();
      closers.push(
        () => consumer.disconnect(),
        () => producer.disconnect(),
      );
      await consumer.subscribe({ topics: [options.from], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 1,
        eachBatch: async (payload: EachBatchPayload) => {
          const { batch } = payload;
          for (let i = 0; i < batch.messages.length; i += options.maxBatch) {
            if (!payload.isRunning() || payload.isStale()) return;
            const chunk = batch.messages.slice(i, i + options.maxBatch);
            const last = chunk[chunk.length - 1];
            if (last === undefined) return;
            const outputs = chunk.map((m) => toMessage(options.transform(m.value ?? Buffer.alloc(0), m.key)));
            const offsets = [
              {
                topic: batch.topic,
                partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }],
              },
            ];
            if (transactional) {
              const tx = await producer.transaction();
              try {
                await tx.send({ topic: options.to, acks: -1, messages: outputs });
                options.beforeCommit(chunk.length);
                await tx.sendOffsets({ consumerGroupId: options.groupId, topics: offsets });
                await tx.commit();
              } catch (err) {
                await tx.abort().catch(() => undefined);
                throw err;
              }
            } else {
              await producer.send({ topic: options.to, acks: -1, messages: outputs });
              options.beforeCommit(chunk.length);
              await consumer.commitOffsets([
                { topic: batch.topic, partition: batch.partition, offset: offsets[0]!.partitions[0]!.offset },
              ]);
            }
            payload.resolveOffset(last.offset);
            options.onChunk(chunk.length);
            await payload.heartbeat();
          }
        },
      });
    },
    async close() {
      for (const close of closers.reverse()) await close().catch(() => undefined);
    },
  };
}
