import type { Baselines } from '@ehrflow/contracts';
import { decryptField, decryptPayload, decryptRecord, isEncryptedField } from '@ehrflow/phi';
import { describe, expect, it } from 'vitest';
import { createContractCache } from './contract-cache.ts';
import {
  CANARY,
  contractJson,
  deleteEnvelope,
  deletionContract,
  memorySchemaSource,
  patient,
  rawEnvelope,
  testKeyring,
  withOptionalField,
} from './testing/fixtures.ts';
import { createRecordValidator, NOT_A_TYPE, type Outcome, type RawInput } from './validate-record.ts';

const ring = testKeyring();

function setup(
  options: {
    fillRateWindow?: number;
    maxPayloadBytes?: number;
    policy?: 'strict';
    baselines?: Baselines;
  } = {},
) {
  const patientSchema = options.policy
    ? { ...contractJson('Patient'), policy: options.policy }
    : contractJson('Patient');
  const source = memorySchemaSource({
    'ehr.valid.Patient-value': patientSchema,
    'ehr.valid.Observation-value': contractJson('Observation'),
  });
  const contracts = createContractCache({
    source,
    validTopicPrefix: 'ehr.valid.',
    resourceTypes: ['Patient', 'Observation'],
    fillRateWindow: options.fillRateWindow ?? 500,
    ...(options.baselines ? { baselines: options.baselines } : {}),
  });
  const validator = createRecordValidator({
    keyring: ring,
    contracts,
    deletions: deletionContract(),
    maxPayloadBytes: options.maxPayloadBytes ?? 64 * 1024,
  });
  let offset = 0;
  const validate = (
    payload: Record<string, unknown> | Buffer,
    opts: Parameters<typeof rawEnvelope>[2] = {},
  ) => {
    const input: RawInput = {
      envelope: rawEnvelope(ring, payload, opts),
      position: { topic: 'ehr.raw', partition: 0, offset: String(offset++) },
      key: 'pseudo-key',
      replayCount: 0,
    };
    return validator.validate(input);
  };
  const validateDelete = (type: string, id: string, opts: Parameters<typeof deleteEnvelope>[3] = {}) =>
    validator.validate({
      envelope: deleteEnvelope(ring, type, id, opts),
      position: { topic: 'ehr.raw', partition: 0, offset: String(offset++) },
      key: 'pseudo-key-delete',
      replayCount: 0,
    });
  return { source, validator, validate, validateDelete };
}

function quarantined(outcome: Outcome) {
  if (outcome.kind !== 'quarantined') throw new Error(`expected a quarantine outcome, got ${outcome.kind}`);
  return outcome.value;
}

function deletion(outcome: Outcome) {
  if (outcome.kind !== 'deletion') throw new Error(`expected a deletion outcome, got ${outcome.kind}`);
  return outcome;
}

function valid(outcome: Outcome) {
  if (outcome.kind !== 'valid') throw new Error(`expected a valid outcome, got ${outcome.kind}`);
  return outcome;
}

/** Everything of a quarantine record in clear (the payload is the encrypted original). */
function clearText(outcome: Outcome): string {
  const rest: Record<string, unknown> = { ...quarantined(outcome) };
  delete rest.payload;
  return JSON.stringify({ rest, drift: outcome.drift });
}

describe('record validator', () => {
  it('maps a valid Patient to its contract with every PHI field encrypted', async () => {
    const { validate } = setup();
    const out = valid(await validate(patient(1, { name: [{ family: CANARY, given: ['Synthia'] }] })));
    expect(out.topic).toBe('ehr.valid.Patient');
    expect(out.key).toBe('pseudo-key');
    expect(out.value.contractVersion).toBe(1);
    expect(out.value.gender).toBe('male'); // phi none stays clear
    expect(out.value.addressState).toBe('MA');
    expect(isEncryptedField(out.value.birthDate)).toBe(true);
    const opened = decryptRecord(ring, out.value);
    expect(opened.birthDate).toBe('1970-01-31');
    expect(opened.nameFamily).toBe(CANARY);
    expect((out.value.nameGiven as string[]).every((g) => isEncryptedField(g))).toBe(true);
    expect(JSON.stringify(out.value)).not.toContain('Zqxcanaryvalue');
    expect(out.drift).toEqual([]);
  });

  it('quarantines a renamed required field as missing_required and reports both drifts, never a null', async () => {
    const { validate } = setup();
    const rest = patient(2, { name: [{ family: CANARY }] });
    delete rest.birthDate;
    const outcome = await validate({ ...rest, dateOfBirth: '1970-01-31' });
    const q = quarantined(outcome);
    expect(q.reason).toBe('missing_required');
    expect(q.fieldPath).toBe('Patient.birthDate');
    expect(q.schemaSubject).toBe('ehr.valid.Patient-value');
    expect(q.schemaVersion).toBe(1);
    expect(q.sourceOffset).toBe('0');
    expect(q.resourceType).toBe('Patient');
    expect(outcome.drift.map((d) => [d.kind, d.fieldPath])).toEqual(
      expect.arrayContaining([
        ['missing_field', 'Patient.birthDate'],
        ['unexpected_field', 'Patient.dateOfBirth'],
      ]),
    );
    expect(clearText(outcome)).not.toContain('Zqxcanaryvalue');
    expect(clearText(outcome)).not.toContain('1970-01-31');
    // The original payload is kept, encrypted, for replay.
    expect(JSON.parse(decryptPayload(ring, q.payload).toString('utf8'))).toMatchObject({
      dateOfBirth: '1970-01-31',
    });
  });

  it('quarantines a retyped field as type_mismatch with its path', async () => {
    const { validate } = setup();
    const outcome = await validate(patient(3, { birthDate: 19700131 }));
    const q = quarantined(outcome);
    expect(q.reason).toBe('type_mismatch');
    expect(q.fieldPath).toBe('Patient.birthDate');
    expect(outcome.drift.map((d) => d.kind)).toContain('type_changed');
    expect(clearText(outcome)).not.toContain('19700131');
  });

  it.each([
    ['malformed JSON', Buffer.from(`{"resourceType":"Patient","name":"${CANARY}",}`), 'parse_error'],
    [
      'a truncated line',
      Buffer.from(`{"resourceType":"Patient","id":"x","name":[{"family":"${CANARY}`),
      'parse_error',
    ],
    [
      'an oversized resource',
      Buffer.from(JSON.stringify(patient(4, { note: CANARY.repeat(4000) }))),
      'too_large',
    ],
  ])('quarantines %s with the right reason and no value in clear', async (_what, bytes, reason) => {
    const { validate } = setup({ maxPayloadBytes: 32 * 1024 });
    const outcome = await validate(bytes);
    expect(quarantined(outcome).reason).toBe(reason);
    expect(quarantined(outcome).detail).toMatch(/byte|exceeds/);
    expect(clearText(outcome)).not.toContain('Zqxcanaryvalue');
  });

  it('quarantines an R4 type without a contract as no_contract and reports it as unknown_resource_type drift', async () => {
    const { validate } = setup();
    const outcome = await validate({
      resourceType: 'Flag',
      id: 'f1',
      status: 'active',
      code: { text: CANARY },
    });
    const q = quarantined(outcome);
    expect(q.reason).toBe('no_contract');
    expect(q.fieldPath).toBe('resourceType');
    expect(q.resourceType).toBe('Flag');
    expect(q.detail).toContain('schemas/fhir/Flag.avsc');
    expect(outcome.drift.map((d) => [d.kind, d.resourceType])).toEqual([['unknown_resource_type', 'Flag']]);
    expect(clearText(outcome)).not.toContain('Zqxcanaryvalue');
  });

  it('quarantines a name that is no R4 type as unknown_resource_type', async () => {
    const { validate } = setup();
    // SubscriptionStatus exists from R4B on; R4 type names are case-sensitive; a surname in
    // resourceType is record data and must not be repeated.
    for (const name of ['Spaceship', 'Medicationstatement', 'SubscriptionStatus', 'Zqxcanaryvalue']) {
      const outcome = await validate({ resourceType: name, id: 's1', note: CANARY });
      expect(quarantined(outcome)).toMatchObject({
        reason: 'unknown_resource_type',
        resourceType: NOT_A_TYPE,
      });
      expect(quarantined(outcome).detail).not.toContain(name);
      expect(outcome.drift.map((d) => [d.resourceType, d.observedType])).toEqual([[NOT_A_TYPE, NOT_A_TYPE]]);
      expect(outcome.drift.map((d) => d.kind)).toEqual(['unknown_resource_type']);
      expect(clearText(outcome)).not.toContain('Zqxcanaryvalue');
    }
  });

  it('accepts an unexpected field under a lenient contract (drift only) and refuses it under strict', async () => {
    const lenient = setup();
    const ok = valid(await lenient.validate(patient(5, { favouriteColour: CANARY })));
    expect(ok.drift.map((d) => [d.kind, d.fieldPath])).toEqual([
      ['unexpected_field', 'Patient.favouriteColour'],
    ]);
    const strict = setup({ policy: 'strict' });
    const q = quarantined(await strict.validate(patient(5, { favouriteColour: CANARY })));
    expect(q.reason).toBe('contract_violation');
    expect(q.fieldPath).toBe('Patient.favouriteColour');
  });

  it('uses a newly registered optional field without being rebuilt (steward workflow)', async () => {
    const { validate, source } = setup();
    const before = valid(await validate(patient(6)));
    expect(before.value).not.toHaveProperty('genderText');
    source.register(
      'ehr.valid.Patient-value',
      withOptionalField(contractJson('Patient'), {
        name: 'maritalStatusText',
        fhirPath: 'maritalStatus.text',
      }),
    );
    const after = valid(await validate(patient(7, { maritalStatus: { text: 'married' } })));
    expect(after.value.contractVersion).toBe(2);
    expect(after.value.maritalStatusText).toBe('married');
  });

  it('raises fill_rate_drop when a populated optional field goes empty', async () => {
    const { validate } = setup({ fillRateWindow: 10 });
    const first = [];
    for (let n = 0; n < 10; n++) first.push(...(await validate(patient(n))).drift);
    // A populated field does not drop in the first window (no baseline yet, above its expected rate).
    expect(first.filter((d) => d.fieldPath === 'telecomPhone')).toEqual([]);
    const drift = [];
    for (let n = 10; n < 20; n++) {
      const rest = patient(n);
      delete rest.telecom;
      drift.push(...(await validate(rest)).drift);
    }
    const drop = drift.find((d) => d.kind === 'fill_rate_drop' && d.fieldPath === 'telecomPhone');
    expect(drop?.fillRate).toMatchObject({ observed: 0, baseline: 1, records: 10 });
  });

  it('quarantines a payload that does not decrypt', async () => {
    const { validator } = setup();
    const envelope = rawEnvelope(testKeyring(), patient(8)); // another ring
    const outcome = await validator.validate({
      envelope,
      position: { topic: 'ehr.raw', partition: 1, offset: '9' },
      key: null,
      replayCount: 2,
    });
    const q = quarantined(outcome);
    expect(q.reason).toBe('decrypt_failed');
    expect(q.replayCount).toBe(2);
    expect(outcome.key).toBe(envelope.recordId);
  });

  it('maps a DELETE envelope to a Deletion for ehr.valid.deletions, its logical id encrypted', async () => {
    const { validateDelete } = setup();
    const envelope = deleteEnvelope(ring, 'Observation', 'obs-9', { jobId: 'job-since' });
    const out = deletion(await validateDelete('Observation', 'obs-9', { jobId: 'job-since' }));
    expect(out).toMatchObject({
      topic: 'ehr.valid.deletions',
      key: 'pseudo-key-delete',
      resourceType: 'Observation',
      subject: 'ehr.valid.deletions-value',
      version: 1,
      drift: [],
    });
    expect(out.value).toMatchObject({
      recordId: envelope.recordId,
      jobId: 'job-since',
      sourceId: 'site-a',
      resourceType: 'Observation',
      sourceLocator: 'file 1 line 1',
      deleted: true,
      deidPolicy: null,
      deidPolicyVersion: null,
    });
    expect(isEncryptedField(out.value.logicalId)).toBe(true);
    expect(decryptField(ring, out.value.logicalId)).toBe('obs-9');
    expect(JSON.stringify(out.value)).not.toContain('obs-9');
  });

  it.each([
    ['an id that is missing', { resourceType: 'Observation' }, 'missing_required', 'Observation.id'],
    ['an id that is a number', { resourceType: 'Observation', id: 4711 }, 'type_mismatch', 'Observation.id'],
    [
      'an id that is no FHIR id',
      { resourceType: 'Observation', id: `${CANARY}/x` },
      'contract_violation',
      'Observation.id',
    ],
    [
      'another type than the envelope',
      { resourceType: 'Condition', id: 'obs-1' },
      'contract_violation',
      'resourceType',
    ],
    [
      'extra fields',
      { resourceType: 'Observation', id: 'obs-1', note: CANARY },
      'contract_violation',
      'Observation',
    ],
  ])(
    'quarantines a DELETE payload with %s, naming the field and no value',
    async (_what, payload, reason, fieldPath) => {
      const { validateDelete } = setup();
      const outcome = await validateDelete('Observation', 'obs-1', { payload });
      const q = quarantined(outcome);
      expect([q.reason, q.fieldPath]).toEqual([reason, fieldPath]);
      expect(q.schemaSubject).toBe('ehr.valid.deletions-value');
      expect(q.recordId).toBe(deleteEnvelope(ring, 'Observation', 'obs-1').recordId);
      expect(clearText(outcome)).not.toContain('Zqxcanaryvalue');
      expect(clearText(outcome)).not.toContain('4711');
      // The original payload is kept, encrypted, for replay.
      expect(JSON.parse(decryptPayload(ring, q.payload).toString('utf8'))).toEqual(payload);
    },
  );

  it('quarantines a DELETE payload that is not JSON, does not decrypt, or names a type not served', async () => {
    const { validateDelete, validator } = setup();
    const garbled = quarantined(
      await validateDelete('Observation', 'obs-2', { payload: Buffer.from(`{"id":"${CANARY}"`) }),
    );
    expect(garbled.reason).toBe('parse_error');
    expect(JSON.stringify({ ...garbled, payload: undefined })).not.toContain('Zqxcanaryvalue');

    const foreign = deleteEnvelope(testKeyring(), 'Observation', 'obs-3');
    const undecryptable = await validator.validate({
      envelope: foreign,
      position: { topic: 'ehr.raw', partition: 0, offset: '1' },
      key: null,
      replayCount: 0,
    });
    expect(quarantined(undecryptable).reason).toBe('decrypt_failed');

    const basic = await validateDelete('Basic', 'b-1');
    expect(quarantined(basic)).toMatchObject({
      reason: 'no_contract',
      fieldPath: 'resourceType',
      resourceType: 'Basic',
    });
    expect(basic.drift.map((d) => d.kind)).toEqual(['unknown_resource_type']);
  });

  it('quarantines an undecodable raw record, keeping its bytes encrypted', async () => {
    const { validator } = setup();
    const raw = Buffer.from(`not avro ${CANARY}`);
    const { PipelineError } = await import('@ehrflow/errors');
    const outcome = await validator.validate({
      undecodable: { error: new PipelineError('PARSE_ERROR', 'bad frame'), raw },
      position: { topic: 'ehr.raw', partition: 0, offset: '42' },
      key: null,
      replayCount: 0,
    });
    const q = quarantined(outcome);
    expect(q.reason).toBe('parse_error');
    expect(q.recordId).toBe('undecodable:ehr.raw/0@42');
    expect(q.payload.includes(Buffer.from('Zqxcanaryvalue'))).toBe(false);
    expect(decryptPayload(ring, q.payload).equals(raw)).toBe(true);
  });

  it('tells once per source that it has no accepted fill-rate baseline, instead of a drop per field', async () => {
    const baselines: Baselines = {
      sources: ['site-known'],
      ratesFor: (source) => (source === 'site-known' ? {} : undefined),
    };
    const { validate } = setup({ fillRateWindow: 2, baselines });
    const kinds = async (sourceId: string, n: number) => {
      const out: [string, string | null][] = [];
      for (let i = 0; i < n; i++) {
        const outcome = await validate(patient(i), { sourceId });
        if (outcome.kind !== 'valid') throw new Error(outcome.kind);
        out.push(...outcome.drift.map((d): [string, string | null] => [d.kind, d.fieldPath]));
      }
      return out;
    };
    // Six records, three windows: one notice, and no fill_rate_drop against the contract's guesses.
    expect(await kinds('site-new', 6)).toEqual([['baseline_needed', null]]);
    expect(await kinds('site-known', 6)).toEqual([]);
  });
});
