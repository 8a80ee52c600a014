import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { dateShiftDays, parsePseudonymKey, partitionKey, pseudonym } from './pseudonym.ts';

const keyText = randomBytes(32).toString('base64');
const key = parsePseudonymKey(keyText);
const otherKey = randomBytes(32);

describe('parsePseudonymKey', () => {
  it('accepts 32 bytes or more', () => {
    expect(parsePseudonymKey(keyText).length).toBe(32);
    expect(parsePseudonymKey(randomBytes(64).toString('base64')).length).toBe(64);
  });

  it.each([undefined, '', 'not base64!', randomBytes(31).toString('base64')])(
    'rejects %j with KEY_MISSING',
    (text) => {
      expect(() => parsePseudonymKey(text)).toThrow(expect.objectContaining({ code: 'KEY_MISSING' }));
    },
  );
});

describe('pseudonym', () => {
  it('is stable, 32 base64url chars, and depends on key, namespace and value', () => {
    const p = pseudonym(key, 'patient', 'src1/123');
    expect(p).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(pseudonym(key, 'patient', 'src1/123')).toBe(p);
    expect(pseudonym(otherKey, 'patient', 'src1/123')).not.toBe(p);
    expect(pseudonym(key, 'mrn', 'src1/123')).not.toBe(p);
    expect(pseudonym(key, 'patient', 'src1/124')).not.toBe(p);
    // Namespace and value cannot be shifted into each other.
    expect(pseudonym(key, 'ab', 'c')).not.toBe(pseudonym(key, 'a', 'bc'));
  });

  it('gives the same output in another process with the same key', () => {
    const script = [
      "import { pseudonym, partitionKey, parsePseudonymKey } from './libs/phi/src/pseudonym.ts';",
      `const key = parsePseudonymKey(${JSON.stringify(keyText)});`,
      "console.log(pseudonym(key, 'patient', 'src1/123') + ' ' + partitionKey(key, 'src1', '123'));",
    ].join('\n');
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('../../..', import.meta.url),
      encoding: 'utf8',
    });
    expect(out.trim()).toBe(`${pseudonym(key, 'patient', 'src1/123')} ${partitionKey(key, 'src1', '123')}`);
  });

  it('derives the partition key from source and patient id', () => {
    expect(partitionKey(key, 'src1', '123')).toBe(pseudonym(key, 'patient', 'src1/123'));
    expect(partitionKey(key, 'src2', '123')).not.toBe(partitionKey(key, 'src1', '123'));
    expect(partitionKey(key, 'src1', '123')).not.toContain('123');
  });
});

describe('dateShiftDays', () => {
  it('stays within bounds, is never zero, and covers both signs', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i += 1) {
      const shift = dateShiftDays(key, `patient-${i}`, 30);
      expect(Number.isInteger(shift)).toBe(true);
      expect(Math.abs(shift)).toBeGreaterThanOrEqual(1);
      expect(Math.abs(shift)).toBeLessThanOrEqual(30);
      seen.add(shift);
    }
    // 2000 draws over 60 values: every value appears (probability of a miss is ~1e-13).
    expect(seen.size).toBe(60);
  });

  it('is deterministic per subject and key', () => {
    const shifts = Array.from({ length: 20 }, (_, i) => dateShiftDays(key, `s${i}`, 365));
    expect(Array.from({ length: 20 }, (_, i) => dateShiftDays(key, `s${i}`, 365))).toEqual(shifts);
    expect(Array.from({ length: 20 }, (_, i) => dateShiftDays(otherKey, `s${i}`, 365))).not.toEqual(shifts);
  });

  it('handles maxDays 1 and rejects invalid bounds', () => {
    expect([-1, 1]).toContain(dateShiftDays(key, 'x', 1));
    for (const bad of [0, -5, 1.5, Number.NaN, 40_000]) {
      expect(() => dateShiftDays(key, 'x', bad)).toThrow(expect.objectContaining({ code: 'POLICY_INVALID' }));
    }
  });
});

describe('pseudonym cache', () => {
  it('gives what the HMAC gives, for repeated and evicted values alike, per key', () => {
    const keyA = Buffer.alloc(32, 1);
    const keyB = Buffer.alloc(32, 2);
    const expected = (key: Buffer, ns: string, value: string): string => {
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32BE(Buffer.byteLength(ns), 0);
      return createHmac('sha256', key)
        .update(prefix)
        .update(ns)
        .update(value)
        .digest()
        .toString('base64url')
        .slice(0, 32);
    };
    // More distinct values than two cache generations hold, each asked twice, then again.
    const values = Array.from({ length: 9_000 }, (_, i) => `Patient/${i}`);
    for (const round of [1, 2]) {
      for (const v of values.filter((_, i) => i % 97 === round)) {
        expect(pseudonym(keyA, 'ref:Patient', v)).toBe(expected(keyA, 'ref:Patient', v));
      }
      for (const v of values) pseudonym(keyA, 'ref:Patient', v);
    }
    expect(pseudonym(keyA, 'ref:Patient', 'Patient/1')).toBe(expected(keyA, 'ref:Patient', 'Patient/1'));
    expect(pseudonym(keyB, 'ref:Patient', 'Patient/1')).toBe(expected(keyB, 'ref:Patient', 'Patient/1'));
    // The namespace's length keeps ("ab", "c") and ("a", "bc") apart.
    expect(pseudonym(keyA, 'ab', 'c')).not.toBe(pseudonym(keyA, 'a', 'bc'));
    expect(pseudonym(keyA, 'a', 'bc')).toBe(expected(keyA, 'a', 'bc'));
  });
});
