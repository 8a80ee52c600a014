import { describe, expect, it } from 'vitest';
import { dateShiftDays } from '@ehrflow/phi';
import { shiftFhirDate, parseFhirDate } from '../fhir-date.ts';
import { dateShiftMethod } from './date-shift.ts';
import { TEST_KEY, testContext, testField, testScope } from './test-scope.ts';

const DAY = 86_400_000;

function shift(value: string, days: number): string {
  const process = dateShiftMethod.create(
    testContext({ method: 'dateShift' }, testField({ name: 'onsetDateTime' })),
  );
  if (process === undefined) throw new Error('no processor');
  return process(value, testScope({ shift: days }));
}

describe('dateShift', () => {
  it('moves full dates by whole days and keeps time and offset', () => {
    expect(shift('2024-03-01', -1)).toBe('2024-02-29');
    expect(shift('2024-12-31T23:30:00+05:00', 1)).toBe('2025-01-01T23:30:00+05:00');
    expect(shift('2024-04-29T09:00:00.000Z', -30)).toBe('2024-03-30T09:00:00.000Z');
  });

  it('keeps the precision of partial dates', () => {
    expect(shift('2024-05', 20)).toMatch(/^\d{4}-\d{2}$/);
    expect(shift('2024', 200)).toMatch(/^\d{4}$/);
    expect(shift('2024-12', 20)).toBe('2025-01');
  });

  it('preserves intervals between the dates of one patient', () => {
    const days = 137;
    const a = shift('2024-01-10', days);
    const b = shift('2024-03-05', days);
    expect((Date.parse(b) - Date.parse(a)) / DAY).toBe(
      (Date.parse('2024-03-05') - Date.parse('2024-01-10')) / DAY,
    );
    expect(a).not.toBe('2024-01-10');
  });

  it('refuses a value that is not a FHIR date, without echoing it', () => {
    expect(() => shift('March 3rd', 5)).toThrow(/field onsetDateTime: expected a FHIR date/);
    try {
      shift('Quibbleworth', 5);
    } catch (err) {
      expect(String((err as Error).message)).not.toContain('Quibbleworth');
    }
  });

  it('draws a bounded, non-zero, per-subject shift that is stable for the key', () => {
    const subjects = Array.from({ length: 200 }, (_, i) => `Patient/p-${i}`);
    const shifts = subjects.map((s) => dateShiftDays(TEST_KEY, s, 30));
    for (const d of shifts) {
      expect(Math.abs(d)).toBeGreaterThanOrEqual(1);
      expect(Math.abs(d)).toBeLessThanOrEqual(30);
    }
    expect(new Set(shifts).size).toBeGreaterThan(20);
    expect(subjects.map((s) => dateShiftDays(TEST_KEY, s, 30))).toEqual(shifts);
    expect(subjects.map((s) => dateShiftDays(Buffer.alloc(32, 8), s, 30))).not.toEqual(shifts);
  });
});

describe('parseFhirDate', () => {
  it('rejects impossible dates and non-FHIR spellings', () => {
    expect(parseFhirDate('2023-02-29')).toBeUndefined();
    expect(parseFhirDate('2024-13')).toBeUndefined();
    expect(parseFhirDate('03/03/1961')).toBeUndefined();
    expect(parseFhirDate('2024-02-29')).toEqual({ year: 2024, month: 2, day: 29, time: '' });
  });

  it('shifts across leap days correctly', () => {
    const date = parseFhirDate('2024-02-28');
    if (date === undefined) throw new Error('unparsed');
    expect(shiftFhirDate(date, 1)).toBe('2024-02-29');
    expect(shiftFhirDate(date, 2)).toBe('2024-03-01');
  });
});
