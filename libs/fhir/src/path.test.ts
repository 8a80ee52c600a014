import { describe, expect, it } from 'vitest';
import { compilePath, evaluatePath } from './path.ts';

const patient = {
  resourceType: 'Patient',
  id: 'fake-1',
  identifier: [
    { type: { coding: [{ code: 'MR' }] }, value: 'TEST-MRN' },
    { system: 'http://hl7.org/fhir/sid/us-ssn', value: '000-00-0001' },
  ],
  name: [
    { use: 'old', family: 'Oldname', given: ['A'] },
    { use: 'official', family: 'Testpatient', given: ['Fakename', 'Middle'] },
  ],
  telecom: [
    { system: 'email', value: 'x@example.org' },
    { system: 'phone', value: '555-0100' },
    { system: 'phone', value: '555-0101' },
  ],
  birthDate: '1970-01-31',
};

const values = (expr: string, root: unknown = patient): readonly unknown[] =>
  evaluatePath(compilePath(expr, 'Patient'), root).values;

describe('FHIRPath subset: evaluation', () => {
  it('reads a primitive and flattens arrays along a dotted path', () => {
    expect(values('birthDate')).toEqual(['1970-01-31']);
    expect(values('name.family')).toEqual(['Oldname', 'Testpatient']);
    expect(values('name.given')).toEqual(['A', 'Fakename', 'Middle']);
  });

  it('indexes and takes first()', () => {
    expect(values('name[1].family')).toEqual(['Testpatient']);
    expect(values('name.given[2]')).toEqual(['Middle']);
    expect(values('name.first().given')).toEqual(['A']);
    expect(values('name[5].family')).toEqual([]);
  });

  it('filters with where(system=...), where(use=...) and a dotted where path', () => {
    expect(values("telecom.where(system='phone').value")).toEqual(['555-0100', '555-0101']);
    expect(values("telecom.where(system = 'phone').value.first()")).toEqual(['555-0100']);
    expect(values("name.where(use='official').family")).toEqual(['Testpatient']);
    expect(values("identifier.where(type.coding.code='MR').value")).toEqual(['TEST-MRN']);
    expect(values("telecom.where(system='fax').value")).toEqual([]);
  });

  it('handles string literal escapes', () => {
    const root = { ...patient, name: [{ use: "it's", family: 'Quoted' }] };
    expect(values("name.where(use='it\\'s').family", root)).toEqual(['Quoted']);
  });

  it('yields nothing for absent elements and for null values', () => {
    expect(values('gender')).toEqual([]);
    expect(values('gender', { ...patient, gender: null })).toEqual([]);
  });

  it('reports shape problems by path and type names, not values', () => {
    const drifted = { ...patient, name: { family: 'Testpatient' }, managingOrganization: 'Organization/1' };
    const byName = evaluatePath(compilePath('name.first().family', 'Patient'), drifted);
    expect(byName.values).toEqual([]);
    expect(byName.problems).toEqual([{ path: 'Patient.name', expected: 'array', observed: 'object' }]);
    const byRef = evaluatePath(compilePath('managingOrganization.reference', 'Patient'), drifted);
    expect(byRef.problems).toEqual([
      { path: 'Patient.managingOrganization', expected: 'object', observed: 'string' },
    ]);
    const scalarAsArray = evaluatePath(compilePath('birthDate', 'Patient'), {
      ...patient,
      birthDate: ['1970'],
    });
    expect(scalarAsArray.problems).toEqual([
      { path: 'Patient.birthDate', expected: 'string', observed: 'array' },
    ]);
  });

  it('reports every non-object item of an array and keeps the objects around them', () => {
    const mixed = { ...patient, name: ['Testpatient', { family: 'Kept' }, 7] };
    const result = evaluatePath(compilePath('name.family', 'Patient'), mixed);
    expect(result.values).toEqual(['Kept']);
    expect(result.problems).toEqual([
      { path: 'Patient.name', expected: 'object', observed: 'string' },
      { path: 'Patient.name', expected: 'object', observed: 'number' },
    ]);
    const clean = evaluatePath(compilePath('name.family', 'Patient'), patient);
    expect(clean.problems).toEqual([]);
    expect(clean.values.length).toBeGreaterThan(0);
  });
});

describe('FHIRPath subset: results kept across evaluations', () => {
  it('gives each evaluation its own values, untouched by the ones after it', () => {
    const many = values('telecom.value');
    const names = values('name.given');
    const one = values("name.where(use='official').family");
    const none = values('name.suffix');
    // A long collection, then a short one through the same steps: nothing of the first shows.
    const bigger = { ...patient, name: Array.from({ length: 40 }, (_, i) => ({ family: `F${i}` })) };
    expect(values('name.family', bigger)).toHaveLength(40);
    expect(values('name.family')).toEqual(['Oldname', 'Testpatient']);
    expect(values('name[1].family', bigger)).toEqual(['F1']);
    expect(many).toEqual(['x@example.org', '555-0100', '555-0101']);
    expect(names).toEqual(['A', 'Fakename', 'Middle']);
    expect(one).toEqual(['Testpatient']);
    expect(none).toEqual([]);
  });
});

describe('FHIRPath subset: single-object chains, then arrays and problems deeper down', () => {
  const married = {
    ...patient,
    maritalStatus: { coding: [{ code: 'M' }, { code: 'S' }], text: 'Married' },
  };
  const run = (expr: string, root: unknown) => evaluatePath(compilePath(expr, 'Patient'), root);

  it('follows single objects and goes on through the arrays below them', () => {
    expect(run('maritalStatus.text', married)).toEqual({ values: ['Married'], problems: [] });
    expect(run('maritalStatus.coding.code', married)).toEqual({ values: ['M', 'S'], problems: [] });
    expect(run('maritalStatus.coding[1].code', married).values).toEqual(['S']);
    expect(run('maritalStatus.coding.first().code', married).values).toEqual(['M']);
    expect(run('maritalStatus.coding.display', married)).toEqual({ values: [], problems: [] });
    expect(run('maritalStatus.text', patient)).toEqual({ values: [], problems: [] });
  });

  it('reports a problem deep in a chain by the path up to it', () => {
    const codingAsObject = { ...married, maritalStatus: { coding: { code: 'M' } } };
    expect(run('maritalStatus.coding.code', codingAsObject)).toEqual({
      values: [],
      problems: [{ path: 'Patient.maritalStatus.coding', expected: 'array', observed: 'object' }],
    });
    const statusAsString = { ...married, maritalStatus: 'M' };
    expect(run('maritalStatus.coding.code', statusAsString)).toEqual({
      values: [],
      problems: [{ path: 'Patient.maritalStatus', expected: 'object', observed: 'string' }],
    });
    const textAsNumber = { ...married, maritalStatus: { text: 7 } };
    expect(run('maritalStatus.text', textAsNumber)).toEqual({ values: [7], problems: [] });
  });
});

describe('FHIRPath subset: compilation', () => {
  it('derives the leaf type, its owner and the cardinality from the R4 model', () => {
    const mrn = compilePath("identifier.where(type.coding.code='MR').value.first()", 'Patient');
    expect([mrn.leafType, mrn.leafOwner, mrn.cardinality]).toEqual(['string', 'Identifier', 'one']);
    const given = compilePath('name.first().given', 'Patient');
    expect([given.leafType, given.cardinality]).toEqual(['string', 'many']);
    const ref = compilePath('subject.reference', 'Observation');
    expect([ref.leafType, ref.leafOwner, ref.cardinality]).toEqual(['string', 'Reference', 'one']);
    const choice = compilePath('valueQuantity.value', 'Observation');
    expect([choice.leafType, choice.cardinality]).toEqual(['decimal', 'one']);
    // Backbone elements are described too (the model comes from the R4 StructureDefinitions).
    const backbone = compilePath('contact.name.family', 'Patient');
    expect([backbone.leafType, backbone.leafOwner, backbone.cardinality]).toEqual([
      'string',
      'HumanName',
      'many',
    ]);
    const component = compilePath('component.valueQuantity.value', 'Observation');
    expect([component.leafType, component.cardinality]).toEqual(['decimal', 'many']);
    expect(() => compilePath('component.valueQuantty.value', 'Observation')).toThrow(/valueQuantty/);
  });

  it.each([
    ['', /empty expression/],
    ['name.exists()', /function exists\(\) is not supported/],
    ["name.where(use!='x')", /where\(\) supports only/],
    ['name.where(use=x)', /expected a 'string' literal/],
    ["name.where(use='x'", /where\(\) supports only/],
    ["name.where(use='x)", /unterminated string literal/],
    ["name.where(use='\\n')", /unsupported escape/],
    ['name[', /expected \[<non-negative integer>\]/],
    ['name[-1]', /expected \[<non-negative integer>\]/],
    ['name or telecom', /unexpected character/],
    ['Patient.name', /Patient has no element "Patient"/],
    ['first()', /must start with an element name/],
    ['birthdate', /Patient has no element "birthdate"/],
    ['name.famly', /HumanName has no element "famly"/],
    ['birthDate.value', /read from a primitive \(date\)/],
    ["telecom.where(sytem='phone').value", /ContactPoint has no element "sytem"/],
    ["identifier.where(type='MR').value", /compares CodeableConcept, a complex type/],
  ])('rejects %j at compile time', (expr, message) => {
    expect(() => compilePath(expr, 'Patient')).toThrow(message);
    try {
      compilePath(expr, 'Patient');
    } catch (err) {
      expect(err).toMatchObject({ code: 'CONTRACT_VIOLATION', context: { fhirPath: expr } });
    }
  });
});
