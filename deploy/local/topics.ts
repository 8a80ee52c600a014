// Applies deploy/local/topics.json to the broker in KAFKA_BROKERS, `{type}` expanded over the
// resource types with a contract (the generated pipeline manifest). Run by `stack up`.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from '@ehrflow/kafka';
import { RESOURCE_TYPES } from '@ehrflow/contracts/manifest';
import { ensureTopics, loadTopicList, resolveTopics } from '@ehrflow/kafka/topics';

const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const list = loadTopicList(join(dirname(fileURLToPath(import.meta.url)), 'topics.json'));
const kafka = new Kafka({ clientId: 'ehrflow-topics', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
try {
  const result = await ensureTopics(admin, resolveTopics(list, RESOURCE_TYPES));
  console.log(
    `[stack] topics: ${result.created.length} created, ${result.updated.length} grown, ${result.unchanged.length} unchanged`,
  );
} finally {
  await admin.disconnect();
}
