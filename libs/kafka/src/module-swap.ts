import { createRequire } from 'node:module';

/**
 * Replaces the exports of one kafkajs 2.2.4 module in Node's module cache, for the patches whose
 * target kafkajs captures when another of its modules loads (`const f = require('./f')`): the swap
 * must happen before that module loads, so `@ehrflow/kafka`'s entry point imports the patches
 * before anything that loads kafkajs.
 *
 * - `applied`: the cached module now exports the replacement (also when an earlier call did it);
 * - `skipped-version`: another kafkajs version, whose internals were not read;
 * - `skipped-too-late`: the module that captures the target already loaded, so a swap would not
 *   reach it (kafkajs' own code stays in use);
 * - `skipped-unavailable`: the replacement could not be built (a native binding missing).
 */
export type ModuleSwapResult = 'applied' | 'skipped-version' | 'skipped-too-late' | 'skipped-unavailable';

export interface ModuleSwap {
  /** The module whose exports are replaced, as a path inside the kafkajs package. */
  readonly target: string;
  /** The kafkajs module that captures the target's exports when it loads. */
  readonly capturedBy: string;
  /** Builds the replacement; undefined when it cannot (then nothing changes). */
  readonly replacement: () => object | undefined;
}

const PATCHED_VERSION = '2.2.4';
const SWAPPED = Symbol.for('ehrflow.kafkajs.swapped');

export function swapKafkaJsModule(swap: ModuleSwap): ModuleSwapResult {
  const require = createRequire(import.meta.url);
  const { version } = require('kafkajs/package.json') as { version: string };
  if (version !== PATCHED_VERSION) return 'skipped-version';
  const targetPath = require.resolve(`kafkajs/${swap.target}`);
  const exports = require.cache[targetPath]?.exports as { [SWAPPED]?: true } | undefined;
  if (exports?.[SWAPPED] === true) return 'applied';
  if (require.cache[require.resolve(`kafkajs/${swap.capturedBy}`)] !== undefined) return 'skipped-too-late';
  const replacement = swap.replacement() as ({ [SWAPPED]?: true } & object) | undefined;
  if (replacement === undefined) return 'skipped-unavailable';
  require(targetPath);
  const module = require.cache[targetPath];
  if (module === undefined) return 'skipped-unavailable';
  Object.defineProperty(replacement, SWAPPED, { value: true });
  module.exports = replacement;
  return 'applied';
}

/**
 * The patch function of a swap: applies it on the first call and returns the same answer on every
 * later one (the module cache is process-wide, so is the answer).
 */
export function onceKafkaJsSwap(swap: ModuleSwap): () => ModuleSwapResult {
  let result: ModuleSwapResult | undefined;
  return () => (result ??= swapKafkaJsModule(swap));
}
