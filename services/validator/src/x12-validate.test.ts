import { fileURLToPath } from 'node:url';
import { decryptPayload, decryptRecord, isEncryptedField } from '@ehrflow/phi';
import { X12EnvelopeChecker, loadX12Mapping } from '@ehrflow/x12';
import { syntheticInterchange, type InterchangeOptions } from '@ehrflow/x12-sim';
import { describe, expect, it } from 'vitest';
import { createContractCache } from './contract-cache.ts';
import {
  contractJson,
  deletionContract,
  memorySchemaSource,
  rawEnvelope,
  testKeyring,
} from './testing/fixtures.ts';
import { createRecordValidator, type Outcome } from './validate-record.ts';
import { contractPhiLookup, createX12Validator } from './x12-validate.ts';

const ring = testKeyring();
const SCHEMAS = fileURLToPath(new URL('../../../schemas/', import.meta.url));
const TYPES = ['Claim', 'ExplanationOfBenefit'];

/** The self-contained payloads the billing receiver writes: ISA + GS + ST…SE per set. */
function payloads(options: InterchangeOptions) {
  const file = syntheticInterchange(options);
  const checker = new X12EnvelopeChecker();
  checker.push(file.bytes);
  const check = checker.finish();
  const isa = file.bytes.subarray(check.header?.start, check.header?.end);
  return {
    file,
    sets: check.sets.map((s) => {
      const gs = check.groups[s.groupIndex]?.header;
      return Buffer.concat([
        isa,
        file.bytes.subarray(gs?.start, gs?.end),
        file.bytes.subarray(s.start, s.end),
      ]);
    }),
  };
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
    maxPayloadBytes: 256 * 1024,
  });
  const mapping = loadX12Mapping(`${SCHEMAS}x12/mapping.json`, contractPhiLookup(SCHEMAS));
  const x12 = createX12Validator({ keyring: ring, mapping, fhir });
  return (payload: Buffer, resourceType: string) =>
    x12.validate({
      envelope: {
        ...rawEnvelope(ring, payload, { sourceId: 'clearing-a', resourceType, logicalId: 'set-1' }),
        format: 'X12' as const,
      },
      position: { topic: 'ehr.raw', partition: 0, offset: '3' },
      key: 'k',
      replayCount: 0,
    });
}

const valid = (o: Outcome | undefined) => (o?.kind === 'valid' ? o : undefined);

describe('X12 path of the validator', () => {
  it('an 837P set becomes one valid Claim per claim, PHI-classified fields encrypted, names and addresses gone', async () => {
    const { file, sets } = payloads({
      seed: 3,
      controlNumber: 1,
      groups: [{ kind: '837P', sets: 1, claimsPerSet: 2 }],
    });
    const outcomes = await setup()(sets[0] as Buffer, '837P');
    expect(outcomes.map((o) => `${o.kind}:${valid(o)?.contract.resourceType ?? ''}`)).toEqual([
      'valid:Claim',
      'valid:Claim',
    ]);
    // Each Claim names its transaction set and how many resources the set made (reconciliation).
    const sources = outcomes.map((o) => valid(o)?.headers?.['ehrflow-source-record']);
    expect(new Set(sources).size).toBe(1);
    expect(sources[0]).toMatch(/^\S+$/);
    expect(outcomes.map((o) => valid(o)?.headers?.['ehrflow-source-parts'])).toEqual(['2', '2']);
    const claim = valid(outcomes[0])?.value as Record<string, unknown>;
    const sim = file.sets[0]?.claims[0];
    expect(isEncryptedField(claim.patientRef)).toBe(true);
    expect(decryptRecord(ring, claim).patientRef).toBe(`Patient/${sim?.memberId}`);
    expect(claim.totalValue).toBe(sim?.total);
    expect((claim.items as unknown[]).length).toBe(sim?.lines);
    const text = JSON.stringify(outcomes);
    expect(text).not.toContain(sim?.memberId);
    expect(text).not.toMatch(/Quillfeather|Brambleton|Osterholt|Vantrelli|Mirowska|Castellane|Thornbury/);
  });

  it('an 835 set becomes valid ExplanationOfBenefit records', async () => {
    const { sets } = payloads({
      seed: 4,
      controlNumber: 2,
      groups: [{ kind: '835', sets: 1, claimsPerSet: 3 }],
    });
    const outcomes = await setup()(sets[0] as Buffer, '835');
    expect(outcomes.map((o) => `${o.kind}:${valid(o)?.contract.resourceType ?? ''}`)).toEqual([
      'valid:ExplanationOfBenefit',
      'valid:ExplanationOfBenefit',
      'valid:ExplanationOfBenefit',
    ]);
  });

  it.each([
    ['required-empty', 'missing_required', 'missing_field'],
    ['code-for-number', 'type_mismatch', 'type_changed'],
    ['unexpected-segment', 'contract_violation', 'unexpected_field'],
  ] as const)(
    'drift %s quarantines the whole set as %s with a drift event; the set is kept encrypted',
    async (drift, reason, driftKind) => {
      const { sets } = payloads({
        seed: 5,
        controlNumber: 3,
        groups: [{ kind: '837P', sets: 1, claimsPerSet: 2 }],
        drift: { kind: drift, from: 0 },
      });
      const outcomes = await setup()(sets[0] as Buffer, '837P');
      expect(outcomes).toHaveLength(1);
      const q = outcomes[0] as Extract<Outcome, { kind: 'quarantined' }>;
      expect(q.value).toMatchObject({ reason, resourceType: 'X12:837P' });
      expect(decryptPayload(ring, Buffer.from(q.value.payload)).equals(sets[0] as Buffer)).toBe(true);
      expect(q.drift[0]).toMatchObject({ kind: driftKind, sourceId: 'clearing-a' });
      expect(JSON.stringify(q.value.detail)).not.toContain('ABC');
    },
  );
});
