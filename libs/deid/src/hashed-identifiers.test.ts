import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  compileHashedIdentifiers,
  createIdentifierHasher,
  hashIdentifiers,
  isHashedEntry,
} from './hashed-identifiers.ts';
import { compileKnownIdentifiers, type IdentifierKind } from './known-identifiers.ts';

const KEY = Buffer.alloc(32, 5);
const hasher = createIdentifierHasher(KEY);

const values: [IdentifierKind, string][] = [
  ['NAME', 'Quillonbeck'],
  ['NAME', 'Zyraxtonfeld'],
  ['NAME', 'Ní Bhriain'],
  ['ID', 'MRN-4471902'],
  ['PHONE', '+1 (207) 868-4410'],
  ['SSN', '900-47-1234'],
  ['EMAIL', 'quillonbeck.canary@example.org'],
  ['DATE', '1931-04-17'],
  ['ADDRESS', '12 Quarantine Row'],
  ['ADDRESS', 'Driftonshire'],
  ['ID', 'Patient/6f1c2e9a-3b4d-4e5f-8a7b-9c0d1e2f3a4b'],
];

describe('createIdentifierHasher', () => {
  it('is HMAC-SHA256 under a key derived from the pseudonym key, 128 bits', () => {
    const derived = createHmac('sha256', KEY).update('ehrflow/deid/patient-directory/v1').digest();
    const expected = createHmac('sha256', derived).update('quillonbeck').digest().subarray(0, 16);
    expect(hasher.digest('quillonbeck')).toBe(expected.toString('base64url'));
    expect(hasher.digest('quillonbeck')).toBe(expected.toString('base64url'));
    expect(createIdentifierHasher(Buffer.alloc(32, 6)).digest('quillonbeck')).not.toBe(
      hasher.digest('quillonbeck'),
    );
  });

  it('does not show its key when printed', () => {
    expect(JSON.stringify(hasher)).toBe('{}');
  });
});

describe('hashIdentifiers', () => {
  it('gives typed digest entries that hold no identifier, in any spelling', () => {
    const entries = hashIdentifiers(hasher, values);
    expect(entries.length).toBeGreaterThan(values.length);
    expect(entries.every(isHashedEntry)).toBe(true);
    const text = entries.join(' ').toLowerCase();
    for (const probe of [
      'quillonbeck',
      'zyraxtonfeld',
      'bhriain',
      '4471902',
      '8684410',
      '900471234',
      'quarantine',
      '19310417',
    ]) {
      expect(text).not.toContain(probe);
    }
  });
});

describe('compileHashedIdentifiers', () => {
  const hashed = compileHashedIdentifiers(hasher, hashIdentifiers(hasher, values));
  const plain = compileKnownIdentifiers(values);

  it.each([
    'Pt Quillonbeck Zyraxtonfeld (MRN 4471902) seen; call 207.868.4410 or (207) 868-4410.',
    'ZYRAXTONFELD, quillonbeck - mrn4471902; SSN 900 47 1234; DOB 1931-04-17.',
    'Lives at 12 Quarantine Row, Driftonshire; e-mail quillonbeck.canary@example.org.',
    'NÍ BHRIAIN; Bhriain; Bhriainsson stays; xMRN4471902 stays.',
    'see record 6f1c2e9a-3b4d-4e5f-8a7b-9c0d1e2f3a4b and Patient/6f1c2e9a-3b4d-4e5f-8a7b-9c0d1e2f3a4b',
    'Hb 13.2 g/dL, no identifiers here at all.',
  ])('matches what the clear-text matcher matches: %s', (text) => {
    expect(hashed.replace(text)).toBe(plain.replace(text));
    // Every text but the last names someone.
    expect(hashed.replace(text) === text).toBe(text.startsWith('Hb'));
  });

  it('lets the longer value win and keeps placeholders of earlier passes', () => {
    const known = compileHashedIdentifiers(
      hasher,
      hashIdentifiers(hasher, [
        ['ADDRESS', '42 Larkspur Lane'],
        ['NAME', 'Larkspur'],
        ['NAME', 'Name'],
      ]),
    );
    expect(known.replace('at 42 Larkspur Lane, Ms Larkspur, [NAME] and Name')).toBe(
      'at [ADDRESS], Ms [NAME], [NAME] and [NAME]',
    );
  });

  it('finds nothing with digests of another key, and ignores malformed entries', () => {
    const other = createIdentifierHasher(Buffer.alloc(32, 9));
    const foreign = compileHashedIdentifiers(hasher, hashIdentifiers(other, values));
    expect(foreign.replace('Pt Quillonbeck')).toBe('Pt Quillonbeck');
    const junk = compileHashedIdentifiers(hasher, [
      'NAME:short',
      'Quillonbeck',
      'FOO:AAAAAAAAAAAAAAAAAAAAAA',
    ]);
    expect(junk.size).toBe(0);
    expect(junk.replace('Pt Quillonbeck')).toBe('Pt Quillonbeck');
  });
});
