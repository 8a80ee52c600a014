import { createHash } from 'node:crypto';

/** A seeded source of numbers in [0, 1): the same seed gives the same fault decisions. */
export type Random = () => number;

/**
 * mulberry32 seeded from the SHA-256 of `seed`. Not for cryptography: only to make the fault
 * decisions of a run (which connection is reset, where a flap starts) reproducible from a seed.
 */
export function seededRandom(seed: string): Random {
  let state = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
