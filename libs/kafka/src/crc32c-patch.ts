import { createRequire } from 'node:module';

/**
 * Makes kafkajs 2.2.4 checksum the record batches it produces with `@node-rs/crc32`'s CRC-32C
 * (native, hardware-accelerated) instead of its own JavaScript loop, one table lookup per byte.
 *
 * Why: every produced record batch carries a CRC-32C of its body. kafkajs computes it in
 * JavaScript at ~3.6 µs CPU per 1.5 KB record on the development machine; the native function
 * takes ~0.2 µs for the same bytes (both measured over a 500-record batch). Every producing stage pays it once
 * per record. kafkajs does not verify checksums on fetch, so only producing changes.
 *
 * How: kafkajs' record-batch encoder takes its checksum function from
 * `protocol/recordBatch/crc32C/index.js` when it is first loaded and keeps it, so the function is
 * swapped in Node's module cache before that encoder loads: `@ehrflow/kafka`'s entry points import
 * this module before anything that loads kafkajs. Too late (the encoder already loaded), another
 * kafkajs version or a platform without the native binding: nothing changes and the caller is told
 * (the client logs a warning); the checksum is the same either way, so correctness never depends
 * on it (a unit test compares both on random batches).
 */

const PATCHED_VERSION = '2.2.4';
const CRC_MODULE = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
const BATCH_ENCODER = 'kafkajs/src/protocol/recordBatch/v0/index.js';
const MARK = Symbol.for('ehrflow.kafkajs.crc32cPatch');

export type Crc32cPatchResult = 'applied' | 'skipped-version' | 'skipped-too-late' | 'skipped-no-native';

type Checksum = ((buffer: Buffer) => number) & { [MARK]?: true };

let result: Crc32cPatchResult | undefined;

/** Applies the patch once per process; returns what happened (the same answer on every call). */
export function patchKafkaJsCrc32c(): Crc32cPatchResult {
  result ??= apply();
  return result;
}

function apply(): Crc32cPatchResult {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== PATCHED_VERSION) return 'skipped-version';
  const cached = require.cache[require.resolve(CRC_MODULE)];
  if ((cached?.exports as Checksum | undefined)?.[MARK]) return 'applied';
  if (require.cache[require.resolve(BATCH_ENCODER)] !== undefined) return 'skipped-too-late';
  let native: (input: Buffer, initialState?: number) => number;
  try {
    ({ crc32c: native } = require('@node-rs/crc32') as { crc32c: typeof native });
  } catch {
    return 'skipped-no-native';
  }
  require(CRC_MODULE);
  const module = require.cache[require.resolve(CRC_MODULE)];
  if (module === undefined) return 'skipped-no-native';
  const checksum: Checksum = (buffer) => native(buffer) >>> 0;
  checksum[MARK] = true;
  module.exports = checksum;
  return 'applied';
}

patchKafkaJsCrc32c();
