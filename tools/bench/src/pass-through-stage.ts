/**
 * One stage of the pass-through reference pipeline, run as its own process by the benchmark:
 * consume a topic, decode each Avro record with the registry codec, encode it again and produce it
 * to the next topic — through the same consumer runner, delivery mode and chunk size as the
 * services, and nothing else (no validation, redaction or loading).
 *
 *   node tools/bench/src/pass-through-stage.ts FROM TO GROUP MAX_BATCH
 *
 * Needs KAFKA_BROKERS and SCHEMA_REGISTRY_URL. Prints JSON lines: `{"event":"first","at":ms,...}`
 * when the first chunk arrives and `{"event":"stats",...}` every second (the runner's counters,
 * `cpuSeconds` of this process and `maxRssBytes`); drains on SIGTERM.
 */
import { createCodec, createRegistry } from '@ehrflow/contracts';
import { createConsumerRunner, createKafka, type DecodedRecord } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';

const [from, to, groupId, maxBatchText] = process.argv.slice(2);
if (from === undefined || to === undefined || groupId === undefined || maxBatchText === undefined) {
  process.stderr.write('usage: pass-through-stage.ts FROM TO GROUP MAX_BATCH\n');
  process.exit(2);
}
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';

const logger = createLogger({ name: `pass-through ${from}`, level: 'warn', destination: process.stderr });
const kafka = createKafka({ brokers, clientId: `bench-${groupId}`, logger, mode: 'development' });
const registry = createRegistry({ url: registryUrl });
const codec = createCodec(registry);
let firstAt = 0;

/** Process CPU seconds so far (user + system): the stage's CPU per record is taken from it. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

const runner = createConsumerRunner({
  kafka,
  groupId,
  topics: [from],
  codec,
  delivery: 'at-least-once',
  maxBatch: Number(maxBatchText),
  handler: (batch) => {
    if (firstAt === 0) {
      firstAt = Date.now();
      process.stdout.write(`${JSON.stringify({ event: 'first', at: firstAt, cpuSeconds: cpuSeconds() })}\n`);
    }
    // The runner decoded the values and encodes the outputs: that is the whole stage.
    return Promise.resolve(
      batch
        .filter((r): r is DecodedRecord => r.decodeError === undefined)
        .map((r) => ({ topic: to, key: r.key ?? '', value: r.value as object })),
    );
  },
});

const timer = setInterval(() => {
  const line = {
    event: 'stats',
    ...runner.stats(),
    cpuSeconds: cpuSeconds(),
    // ru_maxrss is in KiB on Linux.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}, 1_000);

process.once('SIGTERM', () => {
  clearInterval(timer);
  runner
    .stop()
    .catch(() => undefined)
    .finally(() => void registry.close());
});

await runner.run();
