import { describe, expect, it } from 'vitest';
import { frame, unframe } from './wire.ts';

describe('Confluent framing', () => {
  it('writes magic 0 and the id big-endian, and reads them back', () => {
    const buf = frame(0x01020304, Buffer.from([9, 8]));
    expect([...buf]).toEqual([0, 1, 2, 3, 4, 9, 8]);
    const { schemaId, payload } = unframe(buf);
    expect(schemaId).toBe(0x01020304);
    expect([...payload]).toEqual([9, 8]);
  });

  it('refuses a bad id and a bad frame', () => {
    expect(() => frame(-1, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => unframe(Buffer.from([1, 0, 0, 0, 1]))).toThrow(/magic byte 1/);
    expect(() => unframe(Buffer.from([0, 0, 0]))).toThrow(/too short/);
  });
});
