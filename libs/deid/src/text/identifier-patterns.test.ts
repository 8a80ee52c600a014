import { describe, expect, it } from 'vitest';
import { clinicalDetectors } from './identifier-patterns.ts';

describe('clinical identifier patterns', () => {
  it.each([
    ['seen March 14th', 'seen [DATE]'],
    ['seen 14-Mar, better', 'seen [DATE], better'],
    ['on 3/14.', 'on [DATE].'],
    ['since 12/26 stable', 'since [DATE] stable'],
    ['echo on 11/28/73.', 'echo on [DATE].'],
    ['echo on 17.07.1955.', 'echo on [DATE].'],
    ['in June 2019', 'in [DATE]'],
  ])('dates: %s', (input, output) => {
    expect(clinicalDetectors(input)).toBe(output);
  });

  it('keeps fractions and readings that only look like dates', () => {
    const text = 'take 1/2 tablet; BP 120/80; 3/4 of the dose';
    expect(clinicalDetectors(text)).toBe(text);
  });

  it.each([
    ['a 92-year-old', 'a 90+-year-old'],
    ['aged ninety-four', 'aged 90+'],
    ['one hundred and one years old', '90+ years old'],
    ['in her 90s', 'in her 90+'],
    ['95yo', '90+yo'],
    ['an 89-year-old', 'an 89-year-old'],
  ])('ages over 89: %s', (input, output) => {
    expect(clinicalDetectors(input)).toBe(output);
  });

  it('labelled identifiers, SSNs, VINs, local phones, bare URLs and IPv6', () => {
    expect(clinicalDetectors('licence no. D1234567, plate 7ABC123, pacemaker serial PJN123456')).toBe(
      'licence no. [ID], plate [ID], pacemaker serial [ID]',
    );
    expect(clinicalDetectors('SS# 123456789')).toBe('SS# [SSN]');
    expect(clinicalDetectors('VIN 1HGCM82633A004352')).toBe('VIN [ID]');
    expect(clinicalDetectors('reached at 555-0100')).toBe('reached at [PHONE]');
    expect(clinicalDetectors('see portal.example.org/r/123 or fe80:0:0:0:202:b3ff:fe1e:8329')).toBe(
      'see [URL] or [IP]',
    );
  });

  it('addresses: streets in any case, city and state, ZIP+4', () => {
    expect(clinicalDetectors('lives at 12 elm street')).toBe('lives at [ADDRESS]');
    expect(clinicalDetectors('moved to Fort Wayne, IN last year')).toBe('moved to [ADDRESS] last year');
    expect(clinicalDetectors('zip 02139-4307')).toBe('zip [ADDRESS]');
    expect(clinicalDetectors('Hope Smith, MD')).toBe('Hope Smith, MD');
    const clinical = 'walks 2 blocks down the road';
    expect(clinicalDetectors(clinical)).toBe(clinical);
  });
});
