/**
 * `npm run bench:mllp` (also `npm run bench -- --only mllp`): the MLLP part of the benchmark on
 * its own. Prints figures; asserts nothing. See tools/bench/src/mllp.ts.
 */
import { createLogger } from '@ehrflow/logging';
import { formatMllp, measureMllp } from './mllp.ts';

const HELP = `Usage: node tools/bench/src/mllp-bench.ts [--messages N] [--senders N] [--bytes N]

Runs the MLLP receiver in-process against the local stack (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
REDIS_URL from the environment: eval "$(npm run -s stack -- env)"), then
  1. throughput: N messages (default 20000) from --senders (default 10) unpaced senders, each
     waiting for its ACK before the next message (durable-ACKed messages per second, and the
     receiver's CPU time per message: the senders run in a worker thread);
  2. latency: the same senders paced at half the measured rate (p50/p99 ACK latency).
Messages are synthetic ADT/ORU of about --bytes (default 1024). Topics are unique and deleted.
`;

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(HELP);
  process.exit(0);
}
const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(name);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) {
    process.stderr.write(`${name} must be a positive integer\n\n${HELP}`);
    process.exit(2);
  }
  return n;
};

const result = await measureMllp({
  env: process.env,
  logger: createLogger({ name: 'mllp-bench', level: 'warn' }),
  messages: arg('--messages', 20000),
  senders: arg('--senders', 10),
  bytes: arg('--bytes', 1024),
});
process.stdout.write(`${formatMllp(result).join('\n')}\n`);
