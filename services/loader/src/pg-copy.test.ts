import { describe, expect, it } from 'vitest';
import { arrayLiteral, copyField, copyLine } from './pg-copy.ts';

describe('COPY text format', () => {
  it('escapes the characters COPY treats specially', () => {
    expect(copyField('a\tb\nc\rd\\e')).toBe('a\\tb\\nc\\rd\\\\e');
    expect(copyField(null)).toBe('\\N');
    expect(copyField('\\N')).toBe('\\\\N');
  });

  it('writes booleans, numbers, bytes and arrays', () => {
    expect(copyField(true)).toBe('t');
    expect(copyField(Number.NaN)).toBe('NaN');
    expect(copyField(-Infinity)).toBe('-Infinity');
    expect(copyField(Buffer.from([0xab, 0x01]))).toBe('\\\\xab01');
    expect(arrayLiteral(['a', 'b"c', 'd\\e', null])).toBe('{"a","b\\"c","d\\\\e",NULL}');
    expect(copyLine(['x', 1, null])).toBe('x\t1\t\\N\n');
  });
});
