import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileHl7Mapping, convert, groupOccurrences, loadHl7Mapping } from './fhir-mapping.ts';
import { parseHl7 } from './message.ts';

const MAPPING = fileURLToPath(new URL('../../../schemas/hl7/v2-mapping.json', import.meta.url));
const mapping = loadHl7Mapping(MAPPING);

/** Synthetic fixtures (no real data); drift switches as the simulator in test/hl7-sim has them. */
interface Options {
  readonly controlId: string;
  readonly type?: 'ADT^A01' | 'ADT^A04' | 'ADT^A08' | 'ORU^R01';
  readonly version?: string;
  readonly drift?: 'birthdate-moved' | 'type-change' | 'z-segment' | 'version-change';
}
function syntheticMessage(o: Options): string {
  const [code, event] = (o.type ?? 'ADT^A01').split('^') as [string, string];
  const version = o.drift === 'version-change' ? '2.6' : (o.version ?? '2.5.1');
  const birth = o.drift === 'birthdate-moved' ? '|F' : o.drift === 'type-change' ? 'UNKNOWN|F' : '19800214|F';
  const segs = [
    `MSH|^~\\&|SIMEHR|SIMHOSP|EHRFLOW|EHRFLOW|20261205120000||${code}^${event}^${code}_${event}|${o.controlId}|P|${version}`,
    ...(code === 'ADT' ? ['EVN||20261205120000'] : []),
    `PID|1||SIM0000042^^^SIMHOSP^MR||Quillfeather^Ada||${birth}${o.drift === 'birthdate-moved' ? '19800214' : ''}|||1 Synthetic Way^^Testville^ZZ^00000`,
    'PV1|1|I|WARD1^101^1||||||||||||||||V00000042',
  ];
  if (code === 'ADT')
    segs.push(
      'DG1|1||I10^Synthetic diagnosis^I10||20261205',
      'AL1|1|DA|PENICILLIN^Synthetic allergen^L|MO',
      'PR1|1||0DT70ZZ^Synthetic procedure^I10P||20261205093000',
    );
  else {
    segs.push('OBR|1|ORD000001||24323-8^Metabolic panel^LN|||20261205110000');
    ['2345-7', '718-7', '2951-2', '2823-3'].forEach((loinc, i) =>
      segs.push(`OBX|${i + 1}|NM|${loinc}^Synthetic^LN||${100 + i}.5|mg/dL|70-140|N|||F|||20261205113000`),
    );
  }
  if (o.drift === 'z-segment') segs.push('ZPI|1|SIMVENDOR');
  return segs.join('\r');
}
const view = (o: Options) => parseHl7(syntheticMessage(o));

describe('HL7 v2 → FHIR mapping (schemas/hl7/v2-mapping.json)', () => {
  it('maps an ADT^A01 to Patient, Encounter, Condition, AllergyIntolerance and Procedure with converted types and codes', () => {
    const v = view({ controlId: 'C1', type: 'ADT^A01' });
    const result = mapping.map(v);
    expect(result.issues).toEqual([]);
    expect(result.resources.map((r) => r.resourceType)).toEqual([
      'Patient',
      'Encounter',
      'Condition',
      'AllergyIntolerance',
      'Procedure',
    ]);
    expect(result.resources[4]?.resource).toMatchObject({
      status: 'completed',
      performedDateTime: '2026-12-05T09:30:00+00:00',
      code: { coding: [{ code: '0DT70ZZ', system: 'http://www.cms.gov/Medicare/Coding/ICD10' }] },
    });
    const patient = result.resources[0]?.resource as Record<string, unknown>;
    const pid7 = v.value('PID', 7);
    expect(patient.birthDate).toBe(`${pid7.slice(0, 4)}-${pid7.slice(4, 6)}-${pid7.slice(6, 8)}`);
    expect(patient.id).toBe(v.value('PID', 3));
    expect(patient.meta).toEqual({ versionId: 'C1', lastUpdated: '2026-12-05T12:00:00+00:00' });
    expect(patient.gender).toBe('female');
    expect(patient.name).toEqual([{ family: 'Quillfeather', given: ['Ada'] }]);
    const encounter = result.resources[1]?.resource as { status: string; subject: { reference: string } };
    expect(encounter.status).toBe('in-progress');
    expect(encounter.subject.reference).toBe(`Patient/${v.value('PID', 3)}`);
  });

  it('maps each OBX of an ORU^R01 to an Observation with a numeric value', () => {
    const result = mapping.map(view({ controlId: 'R1', type: 'ORU^R01' }));
    const observations = result.resources.filter((r) => r.resourceType === 'Observation');
    expect(observations).toHaveLength(4);
    expect(new Set(observations.map((o) => o.id)).size).toBe(4);
    expect(observations[0]?.resource).toMatchObject({
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org' }] },
      valueQuantity: { value: expect.any(Number) },
    });
  });

  it('drift: a birth date moved out of PID-7 is missing_required at PID-7 and nothing is mapped', () => {
    const result = mapping.map(view({ controlId: 'D1', type: 'ADT^A08', drift: 'birthdate-moved' }));
    expect(result.issues).toEqual([
      expect.objectContaining({
        kind: 'missing_required',
        position: 'PID-7',
        resourceType: 'Patient',
        observed: 'empty',
      }),
    ]);
    expect(result.resources).toEqual([]);
  });

  it('drift: a non-date in PID-7 is type_mismatch naming the kind, not the value', () => {
    const result = mapping.map(view({ controlId: 'D2', type: 'ADT^A01', drift: 'type-change' }));
    expect(result.issues).toEqual([
      expect.objectContaining({ kind: 'type_mismatch', position: 'PID-7', expected: 'DT', observed: 'text' }),
    ]);
    expect(JSON.stringify(result.issues)).not.toContain('UNKNOWN');
  });

  it('drift: a Z-segment, a changed MSH-12 and changed encoding characters are issues with positions', () => {
    expect(mapping.map(view({ controlId: 'D3', drift: 'z-segment' })).issues).toEqual([
      expect.objectContaining({
        kind: 'unexpected_segment',
        position: 'ZPI',
        observed: 'z-segment',
        blocking: true,
      }),
    ]);
    expect(mapping.map(view({ controlId: 'D4', drift: 'version-change' })).issues).toEqual([
      expect.objectContaining({ kind: 'version_changed', position: 'MSH-12', observed: '2.6' }),
    ]);
    const text = syntheticMessage({ controlId: 'D5' }).replace('MSH|^~\\&|', 'MSH|^~\\#|');
    expect(mapping.map(parseHl7(text)).issues.map((i) => i.kind)).toContain('encoding_changed');
  });

  it('older versions (2.3) map the same way', () => {
    expect(mapping.map(view({ controlId: 'V', type: 'ADT^A04', version: '2.3' })).issues).toEqual([]);
  });

  it('a repeated PID-7 is an unexpected repetition', () => {
    const text = syntheticMessage({ controlId: 'RP', type: 'ADT^A01' }).replace(
      /^(PID(?:\|[^|\r]*){6})\|(\d{8})/m,
      '$1|$2~$2',
    );
    expect(mapping.map(parseHl7(text)).issues.map((i) => `${i.kind}:${i.position}`)).toContain(
      'unexpected_repetition:PID-7',
    );
  });

  it('a mapping with a bad position or type fails when it loads, listing every problem', () => {
    const bad = {
      versions: ['2.5'],
      encodingCharacters: '^~\\&',
      unexpectedSegments: 'drift',
      timezone: '+00:00',
      messages: { 'ADT^A01': { segments: ['MSH'], resources: ['Patient', 'Nope'] } },
      resources: {
        Patient: {
          segment: 'PID',
          id: '{PID-3.1}',
          fields: [{ path: 'birthDate', from: 'PID7', type: 'XX' }],
        },
      },
    };
    expect(() => compileHl7Mapping(bad)).toThrow(/PID7.*type must be one of.*no resource rule for Nope/);
  });

  it('converts HL7 dates and times', () => {
    expect(convert('DT', '198001', 'Z')).toBe('1980-01');
    expect(convert('TS', '202612051230-0500', '+00:00')).toBe('2026-12-05T12:30:00-05:00');
    expect(convert('DT', '1980-01-01', 'Z')).toBeUndefined();
    expect(convert('NM', '7.5', 'Z')).toBe(7.5);
  });
});

/** Synthetic pharmacy orders (no real data): ORC/RXE/RXR per order, or ORC/RXO/RXR. */
function pharmacyMessage(
  type: 'RDE^O11' | 'RDE^O01' | 'OMP^O09',
  version: string,
  orders: readonly string[][],
): string {
  const [code, event] = type.split('^') as [string, string];
  return [
    `MSH|^~\\&|SIMRX|SIMHOSP|EHRFLOW|EHRFLOW|20261205120000||${code}^${event}^${code}_${event}|RX-1|P|${version}`,
    'PID|1||SIM0000042^^^SIMHOSP^MR||Quillfeather^Ada||19800214|F',
    'PV1|1|I|WARD1^101^1||||||||||||||||V00000042',
    'AL1|1|DA|PENICILLIN^Synthetic allergen^L|MO',
    ...orders.flat(),
  ].join('\r');
}
const rxeOrder = (n: number, control = 'NW', extra: readonly string[] = []) => [
  `ORC|${control}|PLC${n}|||||||20261205093000`,
  `RXE|^^^20261205^^R|${n === 1 ? '313782' : '197361'}^Synthetic drug ${n}^RXN|${n * 250}||mg|TAB|^Take ${n} by mouth with food|||||${n}`,
  ...extra,
];

describe('pharmacy orders (RXE/RXO → MedicationRequest)', () => {
  it('an RDE^O11 maps each ORC/RXE order to a MedicationRequest, reading the ORC and RXR of its own order', () => {
    const result = mapping.map(
      parseHl7(
        pharmacyMessage('RDE^O11', '2.5.1', [
          rxeOrder(1, 'NW', ['RXR|PO^Oral^HL70162']),
          rxeOrder(2, 'DC', ['RXR|IV^Intravenous^HL70162']),
        ]),
      ),
    );
    expect(result.issues).toEqual([]);
    expect(result.resources.map((r) => r.resourceType)).toEqual([
      'Patient',
      'AllergyIntolerance',
      'MedicationRequest',
      'MedicationRequest',
    ]);
    const [first, second] = result.resources.slice(2).map((r) => r.resource);
    expect(first).toMatchObject({
      id: 'SIM0000042-rx-PLC1',
      status: 'active',
      intent: 'order',
      medicationCodeableConcept: {
        coding: [{ code: '313782', system: 'http://www.nlm.nih.gov/research/umls/rxnorm' }],
      },
      subject: { reference: 'Patient/SIM0000042' },
      encounter: { reference: 'Encounter/V00000042' },
      authoredOn: '2026-12-05T09:30:00+00:00',
      dosageInstruction: [
        {
          text: 'Take 1 by mouth with food',
          route: { coding: [{ code: 'PO' }] },
          doseAndRate: [{ doseQuantity: { value: 250, unit: 'mg' } }],
        },
      ],
      dispenseRequest: { numberOfRepeatsAllowed: 1 },
    });
    expect(second).toMatchObject({
      id: 'SIM0000042-rx-PLC2',
      status: 'stopped',
      dosageInstruction: [
        { route: { coding: [{ code: 'IV' }] }, doseAndRate: [{ doseQuantity: { value: 500 } }] },
      ],
    });
  });

  it.each(['2.3', '2.3.1'])(
    'an RDE^O01 of version %s maps the same way; an order without RXR has no route',
    (version) => {
      const result = mapping.map(
        parseHl7(pharmacyMessage('RDE^O01', version, [rxeOrder(1, 'NW', ['ORC|XX'].slice(1))])),
      );
      expect(result.issues).toEqual([]);
      const med = result.resources.find((r) => r.resourceType === 'MedicationRequest')?.resource;
      expect(med?.status).toBe('active');
      expect(JSON.stringify(med)).not.toContain('route');
    },
  );

  it('an OMP^O09 (2.4) maps RXO: requested give code, amount, units, refills; ORC-5 order status wins over ORC-1', () => {
    const result = mapping.map(
      parseHl7(
        pharmacyMessage('OMP^O09', '2.4', [
          [
            'ORC|NW|PLC7|||CM||||20261205093000',
            'RXO|00071015523^Synthetic drug 7^NDC|5||mL|||||||||2',
            'RXR|PO^Oral^HL70162',
          ],
        ]),
      ),
    );
    expect(result.issues).toEqual([]);
    expect(result.resources.find((r) => r.resourceType === 'MedicationRequest')?.resource).toMatchObject({
      id: 'SIM0000042-rx-PLC7',
      status: 'completed',
      medicationCodeableConcept: { coding: [{ code: '00071015523', system: 'http://hl7.org/fhir/sid/ndc' }] },
      dosageInstruction: [{ doseAndRate: [{ doseQuantity: { value: 5, unit: 'mL' } }] }],
      dispenseRequest: { numberOfRepeatsAllowed: 2 },
    });
  });

  it('drift in an order: an empty give code is missing_required at RXE[2]-2, a non-number dose a type_mismatch', () => {
    const noCode = [['ORC|NW|PLC1', 'RXE|^^^20261205^^R|^Synthetic^RXN|250||mg']];
    const badDose = [rxeOrder(1), ['ORC|NW|PLC2', 'RXE|^^^20261205^^R|197361^Synthetic^RXN|two||mg']];
    const missing = mapping.map(parseHl7(pharmacyMessage('RDE^O11', '2.5', [rxeOrder(1), ...noCode])));
    expect(missing.resources).toEqual([]);
    expect(missing.issues.map((i) => `${i.kind}:${i.position}`)).toContain('missing_required:RXE[2]-2.1');
    const mismatch = mapping.map(parseHl7(pharmacyMessage('RDE^O11', '2.5', badDose)));
    expect(mismatch.issues.map((i) => `${i.kind}:${i.position}:${i.observed}`)).toContain(
      'type_mismatch:RXE[2]-3:text',
    );
    expect(mapping.resourceTypes).toContain('MedicationRequest');
    expect(mapping.resourceTypes).not.toContain('MedicationRequest.RXE');
  });

  it('groupOccurrences: the ORC before an RXE and the first RXR after it, none when the order has no RXR', () => {
    const names = ['MSH', 'PID', 'ORC', 'RXE', 'RXR', 'RXR', 'ORC', 'RXE', 'ORC', 'RXE', 'RXR'];
    expect(groupOccurrences(names, 'RXE', 1, ['ORC', 'RXR'])).toEqual({ ORC: 1, RXR: 1 });
    expect(groupOccurrences(names, 'RXE', 2, ['ORC', 'RXR'])).toEqual({ ORC: 2, RXR: 0 });
    expect(groupOccurrences(names, 'RXE', 3, ['ORC', 'RXR'])).toEqual({ ORC: 3, RXR: 3 });
  });

  it('a rule keyed other than by a resource type must name one; group needs each', () => {
    const base = { versions: ['2.5.1'], encodingCharacters: '^~\\&', messages: {}, timezone: '+00:00' };
    expect(() =>
      compileHl7Mapping({
        ...base,
        resources: { 'MedicationRequest.RXE': { segment: 'RXE', group: ['ORC'], id: '{RXE-1}', fields: [] } },
      }),
    ).toThrow(/MedicationRequest\.RXE: a key that is not a resource type needs resourceType.*group\[0\]/);
  });
});
