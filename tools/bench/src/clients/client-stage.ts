/**
 * One process of the client comparison (`client-bench.ts` starts it):
 *
 *   node tools/bench/src/clients/client-stage.ts seed  CLIENT TOPIC RECORDS BYTES MAX_BATCH
 *   node tools/bench/src/clients/client-stage.ts stage CLIENT FROM TO GROUP MODE MAX_BATCH EXPECTED [CRASH_AFTER]
 *
 * `seed` produces RECORDS records of BYTES bytes (the first 8 bytes hold the record's index) in
 * batches of MAX_BATCH. `stage` copies FROM to TO (adding a header) until it has committed
 * EXPECTED records (0: until SIGTERM); with CRASH_AFTER it kills itself with SIGKILL once that
 * many records were processed, after a chunk's outputs were sent and before its position commits.
 * Prints JSON lines: `first` (the first chunk arrived), `progress` every 250 ms and `done`, each
 * with this process's CPU seconds (user + system) and the records so far.
 */
import { createHash, randomBytes } from 'node:crypto';
import { CLIENT_NAMES, loadAdapter, type BenchRecord, type ClientName } from './adapter.ts';

const [role, clientName, ...rest] = process.argv.slice(2);
if (!CLIENT_NAMES.includes(clientName as ClientName)) fail(`unknown client ${clientName ?? ''}`);
const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const adapter = await loadAdapter(clientName as ClientName, brokers);

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}
let chunks = 0;
function emit(event: string, records: number): void {
  const line = { event, at: Date.now(), cpuSeconds: cpuSeconds(), records, chunks };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

if (role === 'seed') {
  const [topic, recordsText, bytesText, maxBatchText] = rest;
  const records = Number(recordsText);
  const bytes = Number(bytesText);
  const maxBatch = Number(maxBatchText);
  if (!topic || !(records > 0) || !(bytes >= 8) || !(maxBatch > 0))
    fail('usage: seed CLIENT TOPIC RECORDS BYTES MAX_BATCH');
  const filler = randomBytes(bytes);
  emit('first', 0);
  for (let from = 0; from < records; from += maxBatch) {
    const batch: BenchRecord[] = [];
    for (let i = from; i < Math.min(records, from + maxBatch); i++) {
      const value = Buffer.from(filler);
      value.writeBigUInt64BE(BigInt(i), 0);
      const id = createHash('sha256').update(String(i)).digest('hex').slice(0, 32);
      batch.push({ key: Buffer.from(id.slice(0, 8)), value, headers: { 'record-id': Buffer.from(id) } });
    }
    await adapter.produce(topic, batch);
  }
  emit('done', records);
  await adapter.close();
} else if (role === 'stage') {
  const [from, to, groupId, mode, maxBatchText, expectedText, crashText] = rest;
  const maxBatch = Number(maxBatchText);
  const expected = Number(expectedText);
  const crashAfter = crashText === undefined ? Infinity : Number(crashText);
  if (!from || !to || !groupId || (mode !== 'at-least-once' && mode !== 'transactional') || !(maxBatch > 0))
    fail('usage: stage CLIENT FROM TO GROUP MODE MAX_BATCH EXPECTED [CRASH_AFTER]');
  let processed = 0;
  let committed = 0;
  let first = true;
  const stageHeader = Buffer.from('1');
  const timer = setInterval(() => emit('progress', committed), 250);
  await adapter.startStage({
    from,
    to,
    groupId,
    mode,
    transactionalId: `${groupId}-tx`,
    maxBatch,
    transform: (value, key) => {
      if (first) {
        first = false;
        emit('first', 0);
      }
      return { key: key ?? Buffer.alloc(0), value: Buffer.from(value), headers: { stage: stageHeader } };
    },
    beforeCommit: (records) => {
      processed += records;
      if (processed >= crashAfter) process.kill(process.pid, 'SIGKILL');
    },
    onChunk: (records) => {
      committed += records;
      chunks += 1;
      if (expected > 0 && committed >= expected) {
        clearInterval(timer);
        emit('done', committed);
        void adapter.close().finally(() => process.exit(0));
      }
    },
  });
  process.once('SIGTERM', () => {
    clearInterval(timer);
    void adapter.close().finally(() => process.exit(0));
  });
} else {
  fail('usage: client-stage.ts seed|stage CLIENT ...');
}
