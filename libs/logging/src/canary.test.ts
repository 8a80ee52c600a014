import { pino, type Logger as PinoLogger } from 'pino';
import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { createLogger } from './logger.ts';
import { captureStream } from './test-capture.ts';

/**
 * Canary leak test (STYLE habit 8): synthetic PHI is planted everywhere a careless caller could
 * put it (a record object, an error message, an error property, a two-level cause chain,
 * interpolation arguments, child bindings). None of it may reach the output, while the record
 * id, error code and field path must. The same scenario sent to a plain pino logger proves the
 * canaries really are in the input, so this test would fail if the protection broke.
 */
const CANARY = {
  ssn: '123-45-6789',
  name: 'Zebulon Quixote-Canary',
  email: 'zebulon.quixote@canary-mail.test',
  mrn: 'MRN 48151623',
  dob: '1961-03-03',
} as const;
/** Forms in which a canary could leak partially or reformatted. */
const CANARY_FRAGMENTS = [
  ...Object.values(CANARY),
  '123456789',
  '6789',
  'Zebulon',
  'Quixote',
  'zebulon.quixote',
  'canary-mail',
  '48151623',
  '1961-03-03',
  '03/03/1961',
];

const RECORD_ID = '9c1b2f4e8a7d6c5b4a3928171615f0e1';
const FIELD_PATH = 'Patient.birthDate';

function patientRecord(): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    recordId: RECORD_ID,
    name: [{ family: 'Quixote-Canary', given: ['Zebulon'], text: CANARY.name }],
    birthDate: CANARY.dob,
    identifier: [
      { system: 'urn:ssn', value: CANARY.ssn },
      { system: 'urn:mrn', value: CANARY.mrn },
    ],
    telecom: [{ system: 'email', value: CANARY.email }],
    extension: [{ url: 'urn:x', valueString: `${CANARY.name} ${CANARY.ssn}` }],
  };
}

function canaryError(): Error {
  // Two-level cause chain, canaries in messages and in properties at every level.
  const root = Object.assign(new Error(`db rejected ${CANARY.email} born ${CANARY.dob}`), {
    record: patientRecord(),
    patientName: CANARY.name,
  });
  const middle = Object.assign(new Error(`lookup failed for ${CANARY.name} ${CANARY.mrn}`, { cause: root }), {
    ssn: CANARY.ssn,
    detail: CANARY.name,
  });
  const top = new PipelineError('SCHEMA_MISMATCH', `invalid ${FIELD_PATH} for SSN ${CANARY.ssn}`, {
    cause: middle,
    context: { recordId: RECORD_ID, field: FIELD_PATH, value: CANARY.dob, patient: CANARY.name },
  });
  return Object.assign(top, { payload: patientRecord(), offendingValue: CANARY.name });
}

function emitScenario(logger: PinoLogger): void {
  const record = patientRecord();
  const err = canaryError();
  logger.info({ recordId: RECORD_ID, record }, 'received record');
  logger.info(record, 'record as merge object');
  logger.warn({ recordId: RECORD_ID, field: FIELD_PATH, detail: { deeper: { deepest: record } } }, 'nested');
  logger.error(err);
  logger.error({ err, recordId: RECORD_ID }, 'validation failed for %s', FIELD_PATH);
  logger.info(
    'patient %s (%s) born %s, mail %s, ssn %s, record %o',
    CANARY.name,
    CANARY.mrn,
    CANARY.dob,
    CANARY.email,
    CANARY.ssn,
    record,
  );
  const child = logger.child({
    recordId: RECORD_ID,
    patient: CANARY.name,
    mrn: CANARY.mrn,
    where: `${CANARY.email} ${CANARY.ssn}`,
  });
  const grandchild = child.child({ field: FIELD_PATH, record, note: CANARY.dob });
  grandchild.warn({ err }, 'child with error');
  grandchild.info('child message about %s', CANARY.mrn);
  // Canaries in operational fields and after operational labels: not operational ids, so scrubbed.
  logger.warn(
    { sourceId: CANARY.ssn, jobId: CANARY.dob, topic: CANARY.email, offset: CANARY.mrn, recordId: RECORD_ID },
    'source %s job %s topic %s subject %s',
    CANARY.ssn,
    CANARY.dob,
    CANARY.email,
    CANARY.mrn,
  );
}

/** Operational ids an operator must be able to read, with digit runs the scrubber would take for ids. */
const OPERATIONAL = {
  sourceId: 'site-20240917',
  jobId: 'job-20240917-3f9a',
  topic: 'ehr.valid.Patient',
  subject: 'ehr.valid.Patient-value',
  offset: '9007199254740993',
} as const;

describe('canary PHI leak scan', () => {
  it('control: a plain pino logger leaks every canary (so the scan can fail)', () => {
    const capture = captureStream();
    emitScenario(pino({ level: 'debug' }, capture));
    const text = capture.text();
    for (const canary of Object.values(CANARY)) expect(text).toContain(canary);
  });

  it('createLogger writes no canary, but keeps record id, error code and field path', () => {
    const capture = captureStream();
    // Names cannot be recognised by pattern: free-text names are caught only when declared
    // sensitive. Everywhere else (keys, error properties, bindings) they must go without it.
    emitScenario(
      createLogger({ name: 'canary', level: 'debug', destination: capture, sensitive: [CANARY.name] }),
    );
    const text = capture.text();
    expect(capture.lines.length).toBe(9);
    for (const fragment of CANARY_FRAGMENTS) {
      expect(text.toLowerCase(), `canary fragment ${fragment}`).not.toContain(fragment.toLowerCase());
    }
    expect(text).toContain(RECORD_ID);
    expect(text).toContain('"code":"SCHEMA_MISMATCH"');
    expect(text).toContain(FIELD_PATH);
    expect(text).toContain('"errorClass":"contract"');
  });

  it('without declared sensitive values, a name survives only in free text, never in a field', () => {
    const capture = captureStream();
    emitScenario(createLogger({ name: 'canary', level: 'debug', destination: capture }));
    const text = capture.text().toLowerCase();
    for (const canary of [CANARY.ssn, CANARY.email, '48151623', CANARY.dob]) {
      expect(text, canary).not.toContain(canary.toLowerCase());
    }
    // A name has no pattern: in messages (interpolated or of errors) only `sensitive` catches it.
    // Record keys, error properties, context and bindings must drop it regardless.
    const carriers = capture.entries().flatMap((entry) => keysHolding(entry, 'Zebulon'));
    expect(carriers.length).toBeGreaterThan(0);
    expect([...new Set(carriers)].sort()).toEqual(['message', 'msg', 'stack']);
  });
});

describe('operational ids in logs', () => {
  it('stay readable in fields, bindings and messages, next to scrubbed canaries', () => {
    const capture = captureStream();
    const logger = createLogger({ name: 'ops', level: 'debug', destination: capture });
    const child = logger.child({ sourceId: OPERATIONAL.sourceId });
    child.info(
      {
        jobId: OPERATIONAL.jobId,
        topic: OPERATIONAL.topic,
        partition: 2,
        offset: OPERATIONAL.offset,
        subject: OPERATIONAL.subject,
      },
      'source %s job %s: %s at offset %s, patient MRN %s',
      OPERATIONAL.sourceId,
      OPERATIONAL.jobId,
      OPERATIONAL.topic,
      OPERATIONAL.offset,
      '48151623',
    );
    const [entry] = capture.entries();
    expect(entry).toMatchObject({ ...OPERATIONAL, partition: 2 });
    expect(entry?.msg).toBe(
      `source ${OPERATIONAL.sourceId} job ${OPERATIONAL.jobId}: ${OPERATIONAL.topic} at offset ${OPERATIONAL.offset}, patient MRN [ID]`,
    );
    expect(capture.text()).not.toContain('48151623');
  });
});

function keysHolding(value: unknown, needle: string, key = ''): string[] {
  if (typeof value === 'string') return value.includes(needle) ? [key] : [];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => keysHolding(v, needle, k));
}
