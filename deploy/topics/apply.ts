/**
 * Creates or grows the pipeline's topics from a topic list (default: production.json beside this
 * file), over TLS, SASL and mTLS when the KAFKA_* variables ask for them. Run by the `create-topics`
 * Kubernetes Job; `node deploy/topics/apply.ts --help`.
 */
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from '@ehrflow/kafka';
import { ConfigError, kafkaTls } from '@ehrflow/config';
import { RESOURCE_TYPES } from '@ehrflow/contracts/manifest';
import { ensureTopics, loadTopicList, resolveTopics } from '@ehrflow/kafka/topics';

const HELP = `Usage: node deploy/topics/apply.ts [--file PATH] [--dry-run]

Makes the cluster in KAFKA_BROKERS match a topic list: creates missing topics, adds partitions,
re-applies configs (safe to repeat). --file (or TOPICS_FILE) picks the list; the default is
deploy/topics/production.json (replication factor 3, min.insync.replicas 2); the local stack's
list is deploy/local/topics.json (1/1). --dry-run prints the resolved topics and exits.
TLS and SASL: KAFKA_SSL, KAFKA_SSL_CA, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME(_FILE),
KAFKA_SASL_PASSWORD(_FILE). mTLS client certificate: KAFKA_SSL_CERT and KAFKA_SSL_KEY (each a
path to a PEM file or the PEM itself), with or without SASL.
`;

const { values } = parseArgs({
  options: {
    file: { type: 'string' },
    'dry-run': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const file = resolve(
  values.file ?? process.env.TOPICS_FILE ?? join(dirname(fileURLToPath(import.meta.url)), 'production.json'),
);
const topics = resolveTopics(loadTopicList(file), RESOURCE_TYPES);
if (values['dry-run']) {
  for (const t of topics)
    console.log(
      `${t.name} partitions=${t.partitions} rf=${t.replicationFactor} min.isr=${t.config['min.insync.replicas'] ?? '-'}`,
    );
  process.exit(0);
}
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter((b) => b.length > 0);
if (brokers.length === 0) {
  console.error('KAFKA_BROKERS is required');
  process.exit(78);
}
let transport: ReturnType<typeof kafkaTls>;
try {
  transport = kafkaTls(process.env);
} catch (err) {
  // A ConfigError lists the variables by name, never their values.
  const problems = err instanceof ConfigError ? err.problems : [];
  console.error(
    ['create-topics: invalid configuration', ...problems.map((p) => `  ${p.variable}: ${p.reason}`)].join(
      '\n',
    ),
  );
  process.exit(78);
}
if (transport.warning !== undefined) console.error(`create-topics: warning: ${transport.warning.message}`);
const kafka = new Kafka({
  clientId: 'ehrflow-topics',
  brokers,
  logLevel: logLevel.NOTHING,
  ...(transport.ssl ? { ssl: transport.ssl } : {}),
  ...(transport.sasl ? { sasl: transport.sasl } : {}),
});
const admin = kafka.admin();
try {
  await admin.connect();
  const result = await ensureTopics(admin, topics);
  console.log(
    `topics: ${result.created.length} created, ${result.updated.length} grown, ${result.unchanged.length} unchanged`,
  );
} catch (err) {
  // One line an operator can act on (a refused certificate, a failed SASL login, an unreachable
  // broker) instead of a stack trace; kafkajs messages carry no credential.
  const code = (err as { code?: unknown }).code;
  console.error(
    `create-topics: failed against ${brokers.join(',')}: ${(err as Error).name}${typeof code === 'string' ? ` ${code}` : ''}: ${(err as Error).message}`,
  );
  process.exitCode = 1;
} finally {
  await admin.disconnect();
}
