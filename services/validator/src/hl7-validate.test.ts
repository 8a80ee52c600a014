import { fileURLToPath } from 'node:url';
import { SOURCE_PARTS_HEADER, SOURCE_RECORD_HEADER } from '@ehrflow/contracts';
import { loadHl7Mapping, parseHl7 } from '@ehrflow/hl7';
import { decryptPayload, decryptRecord, isEncryptedField } from '@ehrflow/phi';
import { describe, expect, it } from 'vitest';
import { createContractCache } from './contract-cache.ts';
import { driftKeyOf } from './drift-aggregator.ts';
import { createHl7Validator, hl7FeedId } from './hl7-validate.ts';
import {
  contractJson,
  deletionContract,
  memorySchemaSource,
  rawEnvelope,
  testKeyring,
} from './testing/fixtures.ts';
import { createRecordValidator, type Outcome } from './validate-record.ts';

const ring = testKeyring();
const MAPPING = fileURLToPath(new URL('../../../schemas/hl7/v2-mapping.json', import.meta.url));
const TYPES = ['Patient', 'Encounter', 'Observation', 'Condition', 'AllergyIntolerance', 'MedicationRequest'];

/** Synthetic messages only: invented names and ids. */
function adt(opts: { birth?: string; extra?: string; version?: string } = {}): string {
  return [
    `MSH|^~\\&|SIMEHR|SIMHOSP|EHRFLOW|EHRFLOW|20261205120000||ADT^A01^ADT_A01|CTL-1|P|${opts.version ?? '2.5.1'}`,
    'EVN||20261205120000',
    `PID|1||SIM0000042^^^SIMHOSP^MR||Zqxcanaryvalue^Ada||${opts.birth ?? '19800214'}|F|||1 Synthetic Way^^Testville^ZZ^00000`,
    'PV1|1|I|WARD1^101^1||||||||||||||||V00000042',
    'DG1|1||I10^Synthetic diagnosis^I10||20261205',
    'AL1|1|DA|PENICILLIN^Synthetic allergen^L|MO',
    ...(opts.extra ? [opts.extra] : []),
  ].join('\r');
}

function setup() {
  const source = memorySchemaSource(
    Object.fromEntries(TYPES.map((t) => [`ehr.valid.${t}-value`, contractJson(t)])),
  );
  const contracts = createContractCache({
    source,
    validTopicPrefix: 'ehr.valid.',
    resourceTypes: TYPES,
    fillRateWindow: 500,
  });
  const fhir = createRecordValidator({
    keyring: ring,
    contracts,
    deletions: deletionContract(),
    maxPayloadBytes: 64 * 1024,
  });
  const hl7 = createHl7Validator({ keyring: ring, mapping: loadHl7Mapping(MAPPING), fhir });
  const validate = (message: string) => {
    const envelope = {
      ...rawEnvelope(ring, Buffer.from(message), {
        sourceId: 'mllp-north',
        resourceType: 'ADT^A01',
        logicalId: 'CTL-1',
      }),
      format: 'HL7V2' as const,
    };
    return hl7
      .validate({
        envelope,
        position: { topic: 'ehr.raw', partition: 0, offset: '7' },
        key: 'k',
        replayCount: 0,
      })
      .then((outcomes) => ({ outcomes, envelope }));
  };
  return { validate };
}

const valid = (o: Outcome) => (o.kind === 'valid' ? o : undefined);

describe('HL7 v2 path of the validator', () => {
  it('an ADT^A01 becomes valid Patient, Encounter, Condition and AllergyIntolerance records, PHI encrypted', async () => {
    const { outcomes } = await setup().validate(adt());
    expect(outcomes.map((o) => `${o.kind}:${valid(o)?.contract.resourceType ?? ''}`)).toEqual([
      'valid:Patient',
      'valid:Encounter',
      'valid:Condition',
      'valid:AllergyIntolerance',
    ]);
    const patient = valid(outcomes[0] as Outcome)?.value as Record<string, unknown>;
    expect(isEncryptedField(patient.birthDate)).toBe(true);
    expect(decryptRecord(ring, patient).birthDate).toBe('1980-02-14');
    expect(patient.sourceId).toBe('mllp-north');
    expect(JSON.stringify(patient)).not.toContain('Zqxcanaryvalue');
  });

  it('every record derived from a message names the message and its number of parts (for reconciliation)', async () => {
    const { outcomes, envelope } = await setup().validate(adt());
    expect(outcomes).toHaveLength(4);
    for (const o of outcomes)
      expect(valid(o)?.headers).toEqual({
        [SOURCE_RECORD_HEADER]: envelope.recordId,
        [SOURCE_PARTS_HEADER]: '4',
      });
  });

  it('a pharmacy order (RDE^O11, RXE) becomes a valid MedicationRequest record under the FHIR contract', async () => {
    const rde = [
      'MSH|^~\\&|SIMRX|SIMHOSP|EHRFLOW|EHRFLOW|20261205120000||RDE^O11^RDE_O11|RX-1|P|2.5.1',
      'PID|1||SIM0000042^^^SIMHOSP^MR||Zqxcanaryvalue^Ada||19800214|F',
      'PV1|1|I|WARD1^101^1||||||||||||||||V00000042',
      'ORC|NW|PLC1|||||||20261205093000',
      'RXE|^^^20261205^^R|313782^Synthetic drug^RXN|250||mg|TAB|^Take one by mouth|||||3',
      'RXR|PO^Oral^HL70162',
    ].join('\r');
    const { outcomes } = await setup().validate(rde);
    expect(outcomes.map((o) => `${o.kind}:${valid(o)?.contract.resourceType ?? ''}`)).toEqual([
      'valid:Patient',
      'valid:MedicationRequest',
    ]);
    const med = valid(outcomes[1] as Outcome)?.value as Record<string, unknown>;
    expect(med).toMatchObject({
      status: 'active',
      intent: 'order',
      medicationCodeableConceptCode: '313782',
      doseQuantityValue: 250,
      doseQuantityUnit: 'mg',
      dosageRouteCode: 'PO',
      numberOfRepeatsAllowed: 3,
    });
  });

  it('a birth date gone from PID-7 quarantines the whole message as missing_required at PID-7 with a drift event; the HL7 payload is kept', async () => {
    const { outcomes, envelope } = await setup().validate(adt({ birth: '' }));
    expect(outcomes).toHaveLength(1);
    const q = outcomes[0] as Extract<Outcome, { kind: 'quarantined' }>;
    expect(q.kind).toBe('quarantined');
    expect(q.value).toMatchObject({
      reason: 'missing_required',
      fieldPath: 'PID-7',
      recordId: envelope.recordId,
    });
    expect(decryptPayload(ring, Buffer.from(q.value.payload)).toString()).toMatch(/^MSH\|/);
    expect(q.drift).toEqual([
      expect.objectContaining({
        kind: 'missing_field',
        fieldPath: 'PID-7',
        resourceType: 'Patient',
        // Drift is per feed: source, sending application, sending facility and message type.
        sourceId: 'mllp-north:SIMEHR:SIMHOSP:ADT_A01',
      }),
    ]);
    expect(q.value.sourceId).toBe('mllp-north');
    expect(JSON.stringify(q.value.detail)).not.toContain('Zqxcanaryvalue');
  });

  it('drift of one application at two facilities (MSH-4) is two feeds; a facility that is no id shape is hashed', () => {
    const view = (facility: string) =>
      parseHl7(
        adt().replace('|SIMEHR|SIMHOSP|', `|SIMEHR|${facility}|`).replace('ADT^A01^ADT_A01', 'ORU^R01'),
      );
    const north = hl7FeedId('mllp-north', view('NORTHLAB'));
    const south = hl7FeedId('mllp-north', view('SOUTHLAB'));
    expect(north).toBe('mllp-north:SIMEHR:NORTHLAB:ORU_R01');
    expect(south).toBe('mllp-north:SIMEHR:SOUTHLAB:ORU_R01');
    expect(
      driftKeyOf({ sourceId: north, resourceType: 'Patient', fieldPath: 'PID-7', kind: 'missing_field' }),
    ).not.toBe(
      driftKeyOf({ sourceId: south, resourceType: 'Patient', fieldPath: 'PID-7', kind: 'missing_field' }),
    );
    // A facility field carrying something shaped like a record value is never repeated.
    expect(hl7FeedId('mllp-north', view('19800214'))).toMatch(/^mllp-north:SIMEHR:h[0-9a-f]{8}:ORU_R01$/);
  });

  it('a type change, a Z-segment and another MSH-12 are quarantine reasons and drift events', async () => {
    const v = setup();
    const typed = (await v.validate(adt({ birth: 'UNKNOWN' }))).outcomes[0];
    expect(typed).toMatchObject({
      kind: 'quarantined',
      value: { reason: 'type_mismatch', fieldPath: 'PID-7' },
      drift: [expect.objectContaining({ kind: 'type_changed', expectedType: 'DT', observedType: 'text' })],
    });
    expect(JSON.stringify(typed)).not.toContain('UNKNOWN');
    const z = (await v.validate(adt({ extra: 'ZPI|1|VENDOR' }))).outcomes[0];
    expect(z).toMatchObject({
      kind: 'quarantined',
      value: { reason: 'contract_violation', fieldPath: 'ZPI' },
      drift: [expect.objectContaining({ kind: 'unexpected_field', fieldPath: 'ZPI' })],
    });
    const version = (await v.validate(adt({ version: '2.7' }))).outcomes[0];
    expect(version).toMatchObject({
      kind: 'quarantined',
      value: { reason: 'contract_violation', fieldPath: 'MSH-12' },
      drift: [expect.objectContaining({ kind: 'type_changed', observedType: '2.7' })],
    });
  });

  it('text that is not HL7 is a parse_error', async () => {
    const { outcomes } = await setup().validate('PID|1||SIM');
    expect(outcomes[0]).toMatchObject({ kind: 'quarantined', value: { reason: 'parse_error' } });
  });
});
