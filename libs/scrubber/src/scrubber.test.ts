import { describe, expect, it } from 'vitest';
import { createScrubber, scrub } from './scrubber.ts';

describe('scrub: detectors', () => {
  it.each([
    ['SSN 123-45-6789 on file', 'SSN [SSN] on file'],
    ['ssn: 123456789', 'ssn: [SSN]'],
    ['id 123 45 6789.', 'id [SSN].'],
    ['call (555) 123-4567 today', 'call [PHONE] today'],
    ['555.123.4567 / +1 555 123 4567', '[PHONE] / [PHONE]'],
    ['fax: 555-1234', 'fax: [PHONE]'],
    ['uk +44 20 7946 0958', 'uk [PHONE]'],
    ['from jane.canary+x@example.org.', 'from [EMAIL].'],
    ['GET https://ehr.example.com/fhir/Patient?name=Canary failed.', 'GET [URL] failed.'],
    ['see www.example.com/p/1', 'see [URL]'],
    ['peer 10.20.30.40 closed', 'peer [IP] closed'],
    ['MRN 1234567 not found', 'MRN [ID] not found'],
    ['MRN:AB123456', 'MRN:[ID]'],
    ['medical record number 00A123', 'medical record number [ID]'],
    ['account no. 12-345-6', 'account no. [ID]'],
    ['member id XJ99', 'member id [ID]'],
    ['Patient/98765432 missing', 'Patient/[ID] missing'],
    ['value A12345678', 'value [ID]'],
    ['born 1961-03-03', 'born [DATE]'],
    ['at 1961-03-03T10:15:00.000Z', 'at [DATE]'],
    ['dob 03/03/1961 or 3/3/61', 'dob [DATE] or [DATE]'],
    ['dob 03.03.1961', 'dob [DATE]'],
    ['born March 3, 1961', 'born [DATE]'],
    ['born 3rd of March 1961', 'born [DATE]'],
    ['born 03-MAR-1961', 'born [DATE]'],
    ['lives at 12 Main St', 'lives at [ADDRESS]'],
    ['at 1600 Pennsylvania Avenue NW, DC', 'at [ADDRESS], DC'],
    ['at 221B Baker Street Apt 4', 'at [ADDRESS]'],
    ['at 55 W 5th Ave', 'at [ADDRESS]'],
    ['at 9 Elm Court', 'at [ADDRESS]'],
    ['at 12 Quarantine Row, Driftonshire', 'at [ADDRESS], Driftonshire'],
    ['at 3 Lilac Crescent and 8 Abbey Mews', 'at [ADDRESS] and [ADDRESS]'],
    ['PO Box 1234', '[ADDRESS]'],
  ])('%j → %j', (input, expected) => {
    expect(scrub(input)).toBe(expected);
  });

  it('scrubs every identifier in a mixed line', () => {
    const line =
      'Jane Canary, SSN 123-45-6789, MRN 7654321, born 1961-03-03, jane@canary.test, (555) 123-4567, 12 Canary Lane';
    const out = scrub(line);
    for (const canary of [
      '123-45-6789',
      '7654321',
      '1961-03-03',
      'jane@canary.test',
      '123-4567',
      '12 Canary Lane',
    ]) {
      expect(out).not.toContain(canary);
    }
    expect(out).toContain('[SSN]');
    expect(out).toContain('[ADDRESS]');
  });
});

describe('scrub: patterns skipped for texts that lack what they need', () => {
  // Each gated pattern at the least its gate lets through: a gate set one too high fails here.
  it.each([
    ['id 1234567 here', 'id [ID] here'],
    ['ab-1234567 here', '[ID] here'],
    ['SSN:123456789', 'SSN:[SSN]'],
    ['a@b.co', '[EMAIL]'],
    ['HTTP://X.EXAMPLE/a', '[URL]'],
    ['see WWW.example.com', 'see [URL]'],
    ['ftp://h', '[URL]'],
  ])('%j → %j', (input, expected) => {
    expect(scrub(input)).toBe(expected);
  });

  it('keeps a UUID and a 16-character hex id at the shortest runs that make them', () => {
    expect(scrub('job 123E4567-E89B-12D3-A456-426614174000 and 0123456789abcdef')).toBe(
      'job 123E4567-E89B-12D3-A456-426614174000 and 0123456789abcdef',
    );
  });

  it('measures digit runs after stripping its sentinel characters', () => {
    // The run of seven digits exists only once the forged sentinels are gone.
    expect(scrub('123\uE000\uE0014567')).toBe('[ID]');
  });
});

describe('scrub: PHI-free diagnostics survive', () => {
  it.each([
    'SCHEMA_MISMATCH at Patient.birthDate',
    'MISSING_REQUIRED field Observation.valueQuantity.value',
    'topic ehr.valid.Patient partition 3 offset 42',
    'committed offset 123456789 on ehr.raw',
    'record 3f2a9c0d1e4b5a6978877665544332aa',
    'record 0123456789abcdef0123456789abcdef failed',
    'job 123e4567-e89b-12d3-a456-426614174000 resumed',
    'sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    'HTTP 503 from source epic-prod, attempt 3 of 5, retryAfterMs=12000',
    'flushed 2500000 records in 1500000 ms (sizeBytes=104857600)',
    'schema id 1234567 for subject ehr.clean.Encounter-value',
    'file 3 line 1200000 of batch 7',
    'MSH-10 20240115123456 acknowledged with AA',
    'retried 3 times on the way to ehr.raw',
    'kafkajs 2.2.4 on node 24.11.12',
    'AUTH_EXPIRED: token refreshed, 401 retried once',
    'fill rate of Patient.telecom dropped to 0.42',
    'no digits here at all',
  ])('%j is unchanged', (text) => {
    expect(scrub(text)).toBe(text);
  });

  it('does not let a protected counter shield part of a longer number', () => {
    expect(scrub('count 555 123 4567')).toBe('count [PHONE]');
    expect(scrub('offset 123-45-6789')).toBe('offset [SSN]');
    expect(scrub('line 7654321-9')).not.toContain('7654321');
  });

  it('ignores and strips the sentinel characters it uses internally', () => {
    // Input that forges a sentinel must not pull a protected token into the output.
    expect(scrub('\uE0000\uE001 MRN 1234567 record 0123456789abcdef')).toBe(
      '0 MRN [ID] record 0123456789abcdef',
    );
  });
});

describe('createScrubber: caller-supplied sensitive values', () => {
  it('redacts whole values case-insensitively, longest first, not inside words', () => {
    const scrubber = createScrubber({ sensitive: ['Jane Doe', 'Jane', 'Ann'] });
    expect(scrubber.scrub('JANE  doe met jane and Ann at the Annual review')).toBe(
      '[REDACTED] met [REDACTED] and [REDACTED] at the Annual review',
    );
  });

  it('adds values later and escapes regex characters', () => {
    const scrubber = createScrubber();
    expect(scrubber.scrub('O(Brien)+ was here')).toBe('O(Brien)+ was here');
    scrubber.addSensitive(['O(Brien)+', ' ', 'x']);
    expect(scrubber.scrub('o(brien)+ was here, x marks')).toBe('[REDACTED] was here, x marks');
  });

  it('runs the detectors as well, and keeps the default scrub free of added values', () => {
    const scrubber = createScrubber({ sensitive: ['Canary'] });
    expect(scrubber.scrub('Canary SSN 123-45-6789')).toBe('[REDACTED] SSN [SSN]');
    expect(scrub('Canary')).toBe('Canary');
  });
});

describe('operational ids (keepOperational: logs and alerts)', () => {
  const ops = createScrubber({ keepOperational: true });

  it.each([
    ['source site-20240917 failed', 'source site-20240917 failed'],
    ['sourceId=site-20240917, job job-20240917-7f3a', 'sourceId=site-20240917, job job-20240917-7f3a'],
    [
      'topic e2e.del.20240917.raw partition 2 offset 1234567',
      'topic e2e.del.20240917.raw partition 2 offset 1234567',
    ],
    ['subject t.20240917.valid.Patient-value v3', 'subject t.20240917.valid.Patient-value v3'],
    ['consumer group ehrflow-20240917-loader lagging', 'consumer group ehrflow-20240917-loader lagging'],
  ])('keeps %j', (input, expected) => {
    expect(ops.scrub(input)).toBe(expected);
    // The strict scrubber (clinical free text, quarantine details) does not.
    expect(scrub(input)).not.toBe(expected);
  });

  it.each([
    ['source 123-45-6789', 'source [SSN]'],
    ['job 1961-03-03', 'job [DATE]'],
    ['topic 12345678', 'topic [ID]'],
    [
      'subject pat-1234567 (a FHIR subject, not a registry subject)',
      'subject [ID] (a FHIR subject, not a registry subject)',
    ],
    ['source site-1 for MRN 1234567 at (555) 123-4567', 'source site-1 for MRN [ID] at [PHONE]'],
    ['unlabelled site-20240917', 'unlabelled [ID]'],
    ['topic jane.doe@example.org', 'topic [EMAIL]'],
    ['source site-1/Patient/12345678', 'source site-1/Patient/[ID]'],
    // Record values that have letters, next to a label: a date-time, letter-prefixed numbers,
    // an SSN or a date inside a compound token, several long digit runs.
    ['job 1961-03-03T10:20:00Z', 'job [DATE]'],
    ['source MRN12345678', 'source [ID]'],
    ['Source: A1234567', 'Source: [ID]'],
    ['subject MRN1234567-value', 'subject [ID]-value'],
    ['source jane.doe.123-45-6789', 'source jane.doe.[SSN]'],
    ['source john.smith.1961-03-03', 'source john.smith.[DATE]'],
    ['sourceId=19610303-1234567-SMITH', 'sourceId=[ID]-[ID]-SMITH'],
  ])('still scrubs %j', (input, expected) => {
    expect(ops.scrub(input)).toBe(expected);
  });

  it("keeps operational keys whose value has an id's shape, and scrubs anything else under them", () => {
    expect(ops.scrubField('sourceId', 'site-20240917')).toBe('site-20240917');
    expect(ops.scrubField('source_id', 'site-20240917')).toBe('site-20240917');
    expect(ops.scrubField('jobId', 'job-20240917-1')).toBe('job-20240917-1');
    expect(ops.scrubField('topic', 'ehr.valid.Observation')).toBe('ehr.valid.Observation');
    expect(ops.scrubField('offset', '123456789012')).toBe('123456789012');
    expect(ops.scrubField('subject', 'ehr.valid.Patient-value')).toBe('ehr.valid.Patient-value');
    // Record-shaped values under operational keys, and operational shapes under other keys.
    expect(ops.scrubField('sourceId', '123-45-6789')).toBe('[SSN]');
    expect(ops.scrubField('jobId', '1961-03-03')).toBe('[DATE]');
    expect(ops.scrubField('sourceId', 'MRN 1234567')).toBe('MRN [ID]');
    expect(ops.scrubField('subject', 'pat-1234567')).toBe('[ID]');
    expect(ops.scrubField('offset', 'A1234567')).toBe('[ID]');
    expect(ops.scrubField('group', 'A1234567')).not.toContain('1234567');
    expect(ops.scrubField('jobId', '1961-03-03T10:20:00Z')).not.toContain('1961-03-03');
    expect(ops.scrubField('sourceId', 'jane.doe.123-45-6789')).not.toContain('123-45-6789');
    expect(ops.scrubField('identifier', 'site-20240917')).toBe('[ID]');
    // Without keepOperational, keys change nothing.
    expect(createScrubber().scrubField('sourceId', 'site-20240917')).toBe('[ID]');
  });

  it('redacts caller-supplied sensitive values even in operational ids', () => {
    const s = createScrubber({ keepOperational: true, sensitive: ['canary-site'] });
    expect(s.scrubField('sourceId', 'canary-site')).toBe('[REDACTED]');
    expect(s.scrub('source canary-site')).toBe('source [REDACTED]');
  });
});
