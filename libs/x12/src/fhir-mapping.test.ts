import { readFileSync } from 'node:fs';
import { syntheticInterchange, type InterchangeOptions, type SetDrift } from '@ehrflow/x12-sim';
import { describe, expect, it } from 'vitest';
import { X12EnvelopeChecker } from './envelope.ts';
import { compileX12Mapping, loadX12Mapping, type PhiLookup } from './fhir-mapping.ts';

const SCHEMAS = new URL('../../../schemas/', import.meta.url).pathname;

/** PHI class per contract fhirPath, read from the contracts themselves. */
const phiOf: PhiLookup = (resourceType, path) => {
  const schema = JSON.parse(readFileSync(`${SCHEMAS}fhir/${resourceType}.avsc`, 'utf8')) as {
    fields: { fhirPath?: string; phi?: string }[];
  };
  return schema.fields.find((f) => f.fhirPath?.replace(/\.first\(\)$/, '') === path)?.phi;
};
/** The value at a dotted path (`item.0.sequence`) of a mapped resource. */
function at(value: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      value,
    );
}

const mapping = loadX12Mapping(`${SCHEMAS}x12/mapping.json`, phiOf);

/** The self-contained payloads the receiver writes: ISA + GS + ST…SE of each set. */
function payloads(options: InterchangeOptions): Buffer[] {
  const file = syntheticInterchange(options);
  const checker = new X12EnvelopeChecker();
  checker.push(file.bytes);
  const check = checker.finish();
  expect(check.problem).toBeUndefined();
  const isa = file.bytes.subarray(check.header?.start, check.header?.end);
  return check.sets.map((s) => {
    const gs = check.groups[s.groupIndex]?.header;
    return Buffer.concat([isa, file.bytes.subarray(gs?.start, gs?.end), file.bytes.subarray(s.start, s.end)]);
  });
}

describe('X12 → FHIR mapping', () => {
  it.each(['837P', '837I'] as const)(
    'an %s claim of a dependent (patient loop 2000C) is about the patient, insured through the subscriber',
    (kind) => {
      const options: InterchangeOptions = {
        seed: 41,
        controlNumber: 9,
        groups: [{ kind, sets: 1, claimsPerSet: 6, dependentShare: 0.5 }],
      };
      const sims = syntheticInterchange(options).sets[0]?.claims ?? [];
      const dependents = sims.filter((c) => c.dependent !== undefined);
      expect(dependents.length).toBeGreaterThan(0);
      expect(dependents.length).toBeLessThan(sims.length);
      const result = mapping.map(payloads(options)[0] as Buffer);
      expect(result.issues).toEqual([]);
      expect(result.resources).toHaveLength(sims.length);
      for (const [i, sim] of sims.entries()) {
        const claim = result.resources[i]?.resource;
        expect(at(claim, 'id')).toBe(sim.claimId);
        expect(at(claim, 'total.value')).toBe(sim.total);
        expect(at(claim, 'insurance.0.coverage.reference')).toBe(`Coverage/${sim.memberId}`);
        expect(at(claim, 'patient.reference')).toBe(
          sim.dependent === undefined
            ? `Patient/${sim.memberId}`
            : `Patient/${sim.memberId}-${sim.dependent.relationship}-${sim.dependent.birthDate}`,
        );
      }
    },
  );

  it('a dependent claim without its relationship code (PAT01) is missing_required at PAT-01', () => {
    const options: InterchangeOptions = {
      seed: 41,
      controlNumber: 9,
      groups: [{ kind: '837P', sets: 1, claimsPerSet: 6, dependentShare: 0.5 }],
    };
    const payload = (payloads(options)[0] as Buffer).toString('latin1').replace(/PAT\*\d\d~/, 'PAT*~');
    const result = mapping.map(Buffer.from(payload, 'latin1'));
    expect(result.resources).toEqual([]);
    expect(result.issues[0]).toMatchObject({ kind: 'missing_required', position: 'PAT-01' });
  });

  it('refuses inSubunit on a set kind without a subunit', () => {
    const json = JSON.parse(readFileSync(`${SCHEMAS}x12/mapping.json`, 'utf8')) as {
      sets: Record<string, { subunit?: unknown; fields: Record<string, unknown>[] }>;
    };
    delete json.sets['837I']?.subunit;
    expect(() => compileX12Mapping(json, phiOf)).toThrow(/837I\.fields\[\d+\]: inSubunit without a subunit/);
  });

  it('maps an 837P set to one Claim per subscriber loop, with items and diagnoses', () => {
    const file = syntheticInterchange({
      seed: 4,
      controlNumber: 1,
      groups: [{ kind: '837P', sets: 1, claimsPerSet: 2 }],
    });
    const [payload] = payloads({
      seed: 4,
      controlNumber: 1,
      groups: [{ kind: '837P', sets: 1, claimsPerSet: 2 }],
    });
    const result = mapping.map(payload as Buffer);
    expect(result.issues).toEqual([]);
    expect(result.kind).toBe('837P');
    expect(result.resources).toHaveLength(2);
    const claim = result.resources[0]?.resource;
    const sim = file.sets[0]?.claims[0];
    expect(at(claim, 'id')).toBe(sim?.claimId);
    expect(at(claim, 'patient.reference')).toBe(`Patient/${sim?.memberId}`);
    expect(at(claim, 'total')).toEqual({ value: sim?.total, currency: 'USD' });
    expect(at(claim, 'item')).toHaveLength(sim?.lines ?? -1);
    expect(at(claim, 'item.0.productOrService.coding.0.code')).toMatch(/^\d{5}$/);
    expect([at(claim, 'diagnosis.0.sequence'), at(claim, 'diagnosis.1.sequence')]).toEqual([1, 2]);
    expect(at(claim, 'type.coding.0.code')).toBe('professional');
  });

  it('maps 837I to institutional Claims with the statement period, and 835 to ExplanationOfBenefit', () => {
    const [i] = payloads({ seed: 5, controlNumber: 2, groups: [{ kind: '837I', sets: 1 }] });
    const claim = mapping.map(i as Buffer).resources[0]?.resource;
    expect(at(claim, 'type.coding.0.code')).toBe('institutional');
    expect(at(claim, 'billablePeriod.start')).toMatch(/^2026-\d\d-\d\d$/);
    const [p] = payloads({ seed: 6, controlNumber: 3, groups: [{ kind: '835', sets: 1, claimsPerSet: 3 }] });
    const result = mapping.map(p as Buffer);
    expect(result.issues).toEqual([]);
    expect(result.resources.map((r) => r.resourceType)).toEqual([
      'ExplanationOfBenefit',
      'ExplanationOfBenefit',
      'ExplanationOfBenefit',
    ]);
    const eob = result.resources[0]?.resource;
    expect(at(eob, 'claim.reference')).toMatch(/^Claim\/SIMC\d{9}$/);
    expect([at(eob, 'total.0.category.coding.0.code'), at(eob, 'total.1.category.coding.0.code')]).toEqual([
      'submitted',
      'benefit',
    ]);
    expect(at(eob, 'item.0.sequence')).toBe(1);
  });

  it.each([
    ['required-empty', 'missing_required', 'CLM-02', 'empty'],
    ['code-for-number', 'type_mismatch', 'CLM-02', 'text'],
    ['unexpected-segment', 'unexpected_segment', 'ZZZ', null],
  ] as const)('reports drift %s as %s at %s, positions only', (drift: SetDrift, kind, position, observed) => {
    const [payload] = payloads({
      seed: 7,
      controlNumber: 4,
      groups: [{ kind: '837P', sets: 1 }],
      drift: { kind: drift, from: 0 },
    });
    const result = mapping.map(payload as Buffer);
    expect(result.resources).toEqual([]);
    expect(result.issues[0]).toMatchObject({ kind, position, observed });
    expect(result.issues[0]?.segmentPosition).toBeGreaterThan(1);
  });

  it('reports 835 drift at the CLP position', () => {
    const [payload] = payloads({
      seed: 8,
      controlNumber: 5,
      groups: [{ kind: '835', sets: 1 }],
      drift: { kind: 'code-for-number', from: 0 },
    });
    expect(mapping.map(payload as Buffer).issues[0]).toMatchObject({
      kind: 'type_mismatch',
      position: 'CLP-03',
    });
  });

  it('refuses at load a mapping that would put a PHI segment into a field the contract does not classify as PHI', () => {
    const json = JSON.parse(readFileSync(`${SCHEMAS}x12/mapping.json`, 'utf8')) as {
      sets: Record<string, { fields: object[] }>;
    };
    json.sets['837P']?.fields.push({ path: 'status', from: 'NM1[IL]-03', type: 'AN' });
    expect(() => compileX12Mapping(json, phiOf)).toThrow(
      /NM1 carries PHI but Claim.status is not a PHI field/,
    );
  });

  it('answers an unknown guide as unknown_set', () => {
    const [payload] = payloads({ seed: 9, controlNumber: 6, groups: [{ kind: '835', sets: 1 }] });
    const changed = Buffer.from(
      (payload as Buffer).toString('latin1').replace('005010X221A1~', '005010X999A1~'),
      'latin1',
    );
    expect(mapping.map(changed).issues[0]).toMatchObject({ kind: 'unknown_set', position: 'GS-08' });
  });
});
