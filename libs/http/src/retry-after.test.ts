import { describe, expect, it } from 'vitest';
import { parseHttpDate, parseRetryAfter } from './retry-after.ts';

const NOW = new Date('2025-03-04T10:00:00Z');
const CAP = 300_000;

describe('parseRetryAfter', () => {
  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', NOW, CAP)).toEqual({ ms: 120_000, capped: false, form: 'delta' });
    expect(parseRetryAfter(' 0 ', NOW, CAP)).toEqual({ ms: 0, capped: false, form: 'delta' });
  });

  it('reads an IMF-fixdate relative to now', () => {
    expect(parseRetryAfter('Tue, 04 Mar 2025 10:00:30 GMT', NOW, CAP)).toEqual({
      ms: 30_000,
      capped: false,
      form: 'date',
    });
  });

  it('reads the obsolete RFC 850 and asctime forms', () => {
    expect(parseRetryAfter('Tuesday, 04-Mar-25 10:01:00 GMT', NOW, CAP)).toEqual({
      ms: 60_000,
      capped: false,
      form: 'date',
    });
    expect(parseRetryAfter('Tue Mar  4 10:00:05 2025', NOW, CAP)).toEqual({
      ms: 5_000,
      capped: false,
      form: 'date',
    });
  });

  it('treats a date in the past as "retry now"', () => {
    expect(parseRetryAfter('Mon, 03 Mar 2025 10:00:00 GMT', NOW, CAP)).toEqual({
      ms: 0,
      capped: false,
      form: 'date',
    });
  });

  it('caps absurd values and says so', () => {
    expect(parseRetryAfter('86400', NOW, CAP)).toEqual({ ms: CAP, capped: true, form: 'delta' });
    expect(parseRetryAfter('999999999', NOW, CAP)).toEqual({ ms: CAP, capped: true, form: 'delta' });
    expect(parseRetryAfter('9'.repeat(400), NOW, CAP)).toEqual({ ms: CAP, capped: true, form: 'epoch' });
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', NOW, CAP)).toEqual({
      ms: CAP,
      capped: true,
      form: 'date',
    });
  });

  it('reads an epoch-like number as the Unix time it names, in seconds or milliseconds', () => {
    const at = NOW.getTime() + 7_000;
    expect(parseRetryAfter(String(at / 1000), NOW, CAP)).toEqual({ ms: 7_000, capped: false, form: 'epoch' });
    expect(parseRetryAfter(String(at), NOW, CAP)).toEqual({ ms: 7_000, capped: false, form: 'epoch' });
    // In the past: retry now. Far ahead: capped like any absurd wait.
    expect(parseRetryAfter(String(NOW.getTime() / 1000 - 60), NOW, CAP)).toEqual({
      ms: 0,
      capped: false,
      form: 'epoch',
    });
    expect(parseRetryAfter(String(NOW.getTime() / 1000 + 86_400), NOW, CAP)).toEqual({
      ms: CAP,
      capped: true,
      form: 'epoch',
    });
  });

  it.each([
    undefined,
    '',
    'soon',
    '-5',
    '1.5',
    '10s',
    '0x10',
    'Tue, 31 Feb 2025 10:00:00 GMT',
    '2025-03-04T10:00:30Z',
  ])('returns undefined for %j', (header) => {
    expect(parseRetryAfter(header, NOW, CAP)).toBeUndefined();
  });
});

describe('parseHttpDate', () => {
  it('parses all three forms to the same instant', () => {
    const expected = Date.UTC(1994, 10, 6, 8, 49, 37);
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(expected);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(expected);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(expected);
  });

  it('rejects times the clock does not have', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 25:49:37 GMT')).toBeUndefined();
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 PST')).toBeUndefined();
  });
});
