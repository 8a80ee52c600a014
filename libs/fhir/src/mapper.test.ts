import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { RESOURCE_TYPES, contractOf as readContract, type Contract } from '@ehrflow/contracts';
import { FIXTURES, loadContractJson, loadFixture } from './fixtures/fixtures.ts';
import type { Issue } from './issues.ts';
import { compileMapping, type MapMeta } from './mapper.ts';
import { compileMappings } from './mapping-set.ts';

const CANARY = 'CANARY-PHI-51be07';
const meta: MapMeta = {
  recordId: '0123456789abcdef0123456789abcdef',
  jobId: 'job-1',
  sourceId: 'source-a',
  sourceLocator: 'search page 1 entry 1',
  contractVersion: 1,
};

const contractOf = (type: string): Contract => readContract(loadContractJson(type), type);
const mappingOf = (type: string) => compileMapping(contractOf(type));
const avroTypeOf = (type: string) => avro.Type.forSchema(loadContractJson(type) as avro.Schema);

/** Issues as comparable tuples. */
const brief = (issues: readonly Issue[]) => issues.map((i) => [i.kind, i.path, i.expected, i.observed]);

describe.each(RESOURCE_TYPES)('mapping %s fixtures', (type) => {
  const mapping = mappingOf(type);
  const avroType = avroTypeOf(type);

  it('has a synthetic fixture (fixtures/fixtures.ts)', () => {
    expect(FIXTURES[type]?.length ?? 0).toBeGreaterThan(0);
  });

  it.each(FIXTURES[type] ?? [])('maps %s without issues to a record valid against the Avro type', (name) => {
    const { record, issues } = mapping.map(loadFixture(name), meta);
    expect(issues).toEqual([]);
    expect(record).not.toBeNull();
    const errors: string[] = [];
    const valid = avroType.isValid(record, { errorHook: (path) => errors.push(path.join('.')) });
    expect(errors).toEqual([]);
    expect(valid).toBe(true);
    expect(record).toMatchObject({ ...meta, sourceId: 'source-a' });
  });
});

describe('mapped values', () => {
  it('flattens a Patient and normalises its self-reference', () => {
    const { record } = mappingOf('Patient').map(loadFixture('patient'), meta);
    expect(record).toMatchObject({
      logicalId: 'fake-pat-001',
      versionId: '3',
      lastUpdated: '2024-05-01T10:00:00Z',
      patientRef: 'Patient/fake-pat-001',
      identifierMrn: 'TEST-MRN-0001',
      identifierSsn: '000-00-0001',
      nameFamily: 'Testpatient',
      nameGiven: ['Fakename', 'Middle'],
      telecomPhone: '555-0100',
      telecomEmail: 'fakename@example.org',
      birthDate: '1970-01-31',
      deceasedBoolean: false,
      deceasedDateTime: null,
      addressPostalCode: '99999',
      communicationLanguage: 'en-US',
      managingOrganizationRef: 'Organization/fake-org-1',
    });
  });

  it('names the present choice type and fills only its fields', () => {
    const quantity = mappingOf('Observation').map(loadFixture('observation'), meta).record;
    expect(quantity).toMatchObject({
      valueType: 'Quantity',
      valueQuantityValue: 13.2,
      valueQuantityUnit: 'g/dL',
      valueCodeableConceptCode: null,
      effectiveType: 'DateTime',
      codeLoinc: '718-7',
      categoryCodes: ['laboratory'],
      referenceRangeLow: 12,
      noteText: ['Synthetic note: sample slightly haemolysed.'],
    });
    const coded = mappingOf('Observation').map(loadFixture('observation-coded'), meta).record;
    expect(coded).toMatchObject({
      valueType: 'CodeableConcept',
      valueCodeableConceptCode: '266919005',
      valueQuantityValue: null,
      effectiveType: 'Period',
      effectivePeriodStart: '2024-05-01',
      patientRef: 'Patient/fake-pat-001',
      versionId: null,
      interpretationCodes: [],
    });
    const byRef = mappingOf('MedicationRequest').map(loadFixture('medication-request-ref'), meta).record;
    expect(byRef).toMatchObject({
      medicationType: 'Reference',
      medicationReference: 'Medication/fake-med-9',
      medicationCodeableConceptCode: null,
    });
  });

  it('normalises absolute references to Type/id', () => {
    const { record } = mappingOf('Encounter').map(loadFixture('encounter'), meta);
    expect(record).toMatchObject({
      patientRef: 'Patient/fake-pat-001',
      encounterRef: 'Encounter/fake-enc-001',
      classCode: 'IMP',
    });
  });
});

describe('Observation components and panel members', () => {
  const mapping = mappingOf('Observation');

  it("keeps each component's code, value and interpretation together, in source order", () => {
    const { record, issues } = mapping.map(loadFixture('observation-bp'), meta);
    expect(issues).toEqual([]);
    const components = record?.components as readonly Record<string, unknown>[];
    expect(
      components.map((c) => [
        c.code,
        c.valueType,
        c.valueQuantityValue,
        c.valueQuantityCode,
        c.interpretationCodes,
      ]),
    ).toEqual([
      ['8480-6', 'Quantity', 142, 'mm[Hg]', ['H']],
      ['8462-4', 'Quantity', 88, 'mm[Hg]', []],
    ]);
    expect(record).toMatchObject({
      valueType: null,
      valueQuantityValue: null,
      bpSystolicValue: 142,
      bpSystolicUnit: 'mmHg',
      bpDiastolicValue: 88,
      bpDiastolicUnit: 'mmHg',
      hasMemberRefs: ['Observation/fake-obs-hr-001'],
    });
  });

  it('maps an observation without components to an empty list and null panel columns', () => {
    const { record } = mapping.map(loadFixture('observation'), meta);
    expect(record).toMatchObject({ components: [], bpSystolicValue: null, hasMemberRefs: [] });
  });

  it('reports a component value of the wrong type by path, without the value', () => {
    const bp = loadFixture('observation-bp');
    const component = (bp.component as Record<string, unknown>[])[0] ?? {};
    component.valueQuantity = { value: 'CANARY-PHI-51be07' };
    const { issues } = mapping.map(bp, meta);
    expect(brief(issues)).toContainEqual([
      'type_mismatch',
      'Observation.component.valueQuantity.value',
      'number',
      'string',
    ]);
    expect(JSON.stringify(issues)).not.toContain('CANARY');
  });
});

describe('billing contracts', () => {
  it('maps each claim item to one record, with its code, quantity and net amount together', () => {
    const claim = loadFixture('claim');
    const { record, issues } = mappingOf('Claim').map(claim, meta);
    expect(issues).toEqual([]);
    const served = (
      claim.item as { productOrService: { coding: { code: string }[] }; net: { value: number } }[]
    ).map((i) => [i.productOrService.coding[0]?.code, i.net.value]);
    const items = record?.items as readonly Record<string, unknown>[];
    expect(items.map((i) => [i.productOrServiceCode, i.netValue])).toEqual(served);
    expect(record?.totalValue).toBe(served.reduce((sum, [, net]) => sum + Number(net), 0));
  });

  it("keeps an explanation of benefit's adjudications with their item", () => {
    const { record } = mappingOf('ExplanationOfBenefit').map(loadFixture('explanation-of-benefit'), meta);
    const items = record?.items as readonly Record<string, unknown>[];
    expect(items.length).toBeGreaterThan(0);
    for (const item of items) {
      expect(item.adjudicationCategoryCodes).toEqual(['submitted', 'benefit']);
      expect((item.adjudicationAmounts as number[])[0]).toBe(item.netValue);
    }
  });
});

describe('drift', () => {
  const patientMapping = mappingOf('Patient');
  const patient = () => loadFixture('patient');

  it('quarantines a renamed required field: missing_required(birthDate) + unexpected_field(dateOfBirth)', () => {
    const { birthDate, _birthDate, ...rest } = patient();
    const { record, issues } = patientMapping.map({ ...rest, dateOfBirth: birthDate }, meta);
    expect(_birthDate).toBeDefined();
    expect(record).toBeNull();
    expect(brief(issues)).toEqual([
      ['unexpected_field', 'Patient.dateOfBirth', undefined, 'string'],
      ['missing_required', 'Patient.birthDate', undefined, undefined],
    ]);
    expect(issues.find((i) => i.kind === 'missing_required')?.field).toBe('birthDate');
  });

  it('quarantines a retyped field: type_mismatch(expected string, observed number)', () => {
    const { record, issues } = patientMapping.map({ ...patient(), birthDate: 19700131 }, meta);
    expect(record).toBeNull();
    expect(brief(issues)).toEqual([['type_mismatch', 'Patient.birthDate', 'string', 'number']]);
  });

  it('checks FHIR formats: a birthDate that is not a FHIR date', () => {
    const { record, issues } = patientMapping.map({ ...patient(), birthDate: '31/01/1970' }, meta);
    expect(record).toBeNull();
    expect(brief(issues)).toEqual([['type_mismatch', 'Patient.birthDate', 'date', 'string']]);
  });

  it('never maps a retyped optional field to null', () => {
    const { record, issues } = patientMapping.map({ ...patient(), active: 'yes' }, meta);
    expect(record).toBeNull();
    expect(brief(issues)).toEqual([['type_mismatch', 'Patient.active', 'boolean', 'string']]);
  });

  it('reports a changed shape on the way to a field', () => {
    const obs = { ...loadFixture('observation'), subject: 'Patient/fake-pat-001' };
    const { record, issues } = mappingOf('Observation').map(obs, meta);
    expect(record).toBeNull();
    expect(brief(issues)).toEqual([['type_mismatch', 'Observation.subject', 'object', 'string']]);
  });

  it('produces the record under a lenient policy and reports unexpected fields, also one level deep', () => {
    const p = patient();
    const names = p.name as Record<string, unknown>[];
    const drifted = {
      ...p,
      name: [
        { ...names[0], nickname: CANARY },
        { family: 'X', nickname: CANARY },
      ],
      favouriteColour: CANARY,
      _gender: {},
    };
    const { record, issues } = patientMapping.map(drifted, meta);
    expect(record).not.toBeNull();
    expect(brief(issues)).toEqual([
      ['unexpected_field', 'Patient.name.nickname', undefined, 'string'],
      ['unexpected_field', 'Patient.favouriteColour', undefined, 'string'],
    ]);
  });

  it('quarantines unexpected fields under a strict policy', () => {
    const strict = compileMapping({ ...contractOf('Patient'), policy: 'strict' });
    const { record, issues } = strict.map({ ...patient(), favouriteColour: 'blue' }, meta);
    expect(record).toBeNull();
    expect(brief(issues)).toEqual([['unexpected_field', 'Patient.favouriteColour', undefined, 'string']]);
  });

  it('breaks a contract rule when a subject is not a Patient, or two choice types are present', () => {
    const obs = {
      ...loadFixture('observation'),
      subject: { reference: 'Group/fake-group' },
      valueString: CANARY,
    };
    const { record, issues } = mappingOf('Observation').map(obs, meta);
    expect(record).toBeNull();
    expect(issues.map((i) => [i.kind, i.path])).toEqual([
      ['contract_violation', 'Observation.subject.reference'],
      ['contract_violation', 'Observation.value[x]'],
    ]);
  });

  it('requires a required choice element (MedicationRequest.medication[x] is 1..1)', () => {
    const { medicationCodeableConcept, ...rest } = loadFixture('medication-request');
    expect(medicationCodeableConcept).toBeDefined();
    const { record, issues } = mappingOf('MedicationRequest').map(rest, meta);
    expect(record).toBeNull();
    expect(brief(issues)).toEqual([
      ['missing_required', 'MedicationRequest.medication[x]', undefined, undefined],
    ]);
  });

  it('keeps every value out of issues', () => {
    const drifted = {
      ...patient(),
      birthDate: CANARY,
      gender: 7,
      name: { family: CANARY },
      [CANARY.toLowerCase()]: CANARY,
      address: [{ city: CANARY, moon: CANARY }],
    };
    const { issues } = patientMapping.map(drifted, meta);
    expect(issues.length).toBeGreaterThanOrEqual(4);
    expect(JSON.stringify(issues).toUpperCase()).not.toContain(CANARY);
    // unexpected property names are reported only when shaped like element names
    expect(issues.map((i) => i.path)).toContain('Patient.(non-element name)');
    expect(issues.map((i) => i.path)).toContain('Patient.address.moon');
  });
});

describe('compiling contracts', () => {
  const base = loadContractJson('Patient');
  const withField = (field: Record<string, unknown>) =>
    readContract({ ...base, fields: [...(base.fields as unknown[]), field] }, 'Patient+extra');
  const field = { name: 'extra', type: ['null', 'string'], default: null, phi: 'none', deid: 'keep' };

  it.each([
    ['a bad path', { ...field, fhirPath: 'name.famly' }, /HumanName has no element "famly"/],
    ['a path outside the subset', { ...field, fhirPath: 'name.exists()' }, /not supported/],
    [
      'a PHI field that is not a string',
      { ...field, type: ['null', 'boolean'], phi: 'quasi', fhirPath: 'active' },
      /PHI field must be a string/,
    ],
    [
      'an unclassified (default-deny PHI) number',
      { name: 'extra', type: ['null', 'double'], default: null, fhirPath: 'active' },
      /PHI field must be a string/,
    ],
    ['a scalar read from a 0..* element', { ...field, fhirPath: 'name.family' }, /several values/],
    [
      'a path ending at a complex type',
      { ...field, fhirPath: 'maritalStatus' },
      /complex type CodeableConcept/,
    ],
    [
      'an Avro type that cannot hold the FHIR type',
      { ...field, type: ['null', 'double'], fhirPath: 'gender' },
      /cannot hold FHIR code/,
    ],
    [
      'a fhirType that disagrees with R4',
      { ...field, fhirPath: 'birthDate', fhirType: 'dateTime' },
      /disagrees with R4 type date/,
    ],
    [
      'a required nullable field',
      { ...field, fhirPath: 'gender', required: true },
      /required field must be a non-nullable/,
    ],
    ['a field with no source', { ...field }, /needs fhirPath or fhirChoice/],
    [
      'PHI inside an array of records',
      {
        name: 'extra',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'C',
            fields: [{ ...field, name: 'v', phi: 'direct', deid: 'hash', fhirPath: 'name.first().family' }],
          },
        },
        default: [],
        phi: 'none',
        deid: 'keep',
        fhirPath: 'contact',
      },
      /sub-field v must be phi none/,
    ],
    [
      'an array of records read from a primitive',
      {
        name: 'extra',
        type: { type: 'array', items: { type: 'record', name: 'C', fields: [] } },
        default: [],
        phi: 'none',
        deid: 'keep',
        fhirPath: 'name.given',
      },
      /complex element/,
    ],
    ['an unknown choice', { ...field, fhirChoice: 'value' }, /no choice element value\[x\]/],
  ])('rejects %s with CONTRACT_VIOLATION', (_label, bad, message) => {
    expect(() => compileMapping(withField(bad))).toThrow(message);
    expect(() => compileMapping(withField(bad))).toThrow(
      expect.objectContaining({ code: 'CONTRACT_VIOLATION' }),
    );
  });

  it('serves one mapping per type and refuses unknown resource types', () => {
    const set = compileMappings(RESOURCE_TYPES.map(contractOf));
    expect(set.mappingFor('Observation').resourceType).toBe('Observation');
    expect(() => set.mappingFor('Medication')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_RESOURCE_TYPE' }),
    );
    expect(() => set.mappingFor(`${CANARY} x`)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(CANARY) }),
    );
    expect(() => compileMappings([contractOf('Patient'), contractOf('Patient')])).toThrow(
      /two contracts map Patient/,
    );
  });
});
