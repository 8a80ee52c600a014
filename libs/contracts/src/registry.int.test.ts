import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { waitFor } from '@ehrflow/testing';
import { canonicalText } from './avro.ts';
import { DEFAULT_REGISTRY_URL } from './cli.ts';
import { createCodec } from './codec.ts';
import { contractOf } from './contract.ts';
import { createRegistry } from './registry.ts';

const url = process.env.SCHEMA_REGISTRY_URL ?? DEFAULT_REGISTRY_URL;
const registry = createRegistry({ url });
const run = randomUUID().slice(0, 8);
const created: string[] = [];
const subjectFor = (name: string): string => {
  const s = `ehrflow-test-${run}-${name}-value`;
  created.push(s);
  return s;
};

afterAll(async () => {
  for (const s of created) await registry.deleteSubject(s);
  await registry.close();
});

const V1 = {
  type: 'record',
  name: 'Payment',
  namespace: 'ehrflow.test',
  doc: 'A test record.',
  fields: [
    { name: 'id', type: 'string', doc: 'id', phi: 'none', required: true, fillRate: 1 },
    {
      name: 'amount',
      type: 'string',
      doc: 'amount',
      phi: 'quasi',
      deid: 'generalize',
      fhirPath: 'Claim.total',
    },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' }, doc: 'when', phi: 'none' },
  ],
};
const V2 = {
  ...V1,
  fields: [
    ...V1.fields,
    { name: 'memo', type: ['null', 'string'], default: null, doc: 'memo', phi: 'free_text' },
  ],
};
const BROKEN = { ...V1, fields: V1.fields.map((f) => (f.name === 'amount' ? { ...f, type: 'int' } : f)) };

describe('schema registry (Apicurio ccompat)', () => {
  it('keeps custom field attributes in the registered text', async () => {
    const subject = subjectFor('attrs');
    await registry.register(subject, canonicalText(V1));
    const latest = await registry.latest(subject);
    expect(latest.text).toBe(canonicalText(V1));
    const amount = contractOf(latest.text).fields.find((f) => f.name === 'amount');
    expect(amount).toMatchObject({ phi: 'quasi', deid: 'generalize', fhirPath: 'Claim.total' });
  });

  it('sets and reads a subject compatibility level', async () => {
    const subject = subjectFor('level');
    await registry.setCompatibility(subject, 'FULL_TRANSITIVE');
    expect(await registry.getCompatibility(subject)).toBe('FULL_TRANSITIVE');
    await registry.setCompatibility(subject, 'BACKWARD_TRANSITIVE');
    expect(await registry.getCompatibility(subject)).toBe('BACKWARD_TRANSITIVE');
    // Deleting a subject that never had a version still removes its level.
    expect(await registry.deleteSubject(subject)).toEqual([]);
    const global = await registry.getCompatibility(`ehrflow-test-${run}-never-value`);
    await registry.setCompatibility(subject, global === 'FULL' ? 'NONE' : 'FULL');
    await registry.deleteSubject(subject);
    expect(await registry.getCompatibility(subject)).toBe(global);
  });

  it('registers idempotently, encodes with Confluent framing and decodes back', async () => {
    const subject = subjectFor('roundtrip');
    await registry.setCompatibility(subject, 'BACKWARD_TRANSITIVE');
    const first = await registry.register(subject, canonicalText(V1));
    expect(await registry.register(subject, canonicalText(V1))).toEqual(first);
    expect(first.version).toBe(1);

    const codec = createCodec(registry);
    const value = { id: 'p-1', amount: '12.50', at: 1_700_000_000_000 };
    const buf = await codec.encode(subject, value);
    expect(buf[0]).toBe(0);
    expect(buf.readUInt32BE(1)).toBe(first.id);
    expect([...buf.subarray(1, 5)]).toEqual([
      (first.id >>> 24) & 0xff,
      (first.id >>> 16) & 0xff,
      (first.id >>> 8) & 0xff,
      first.id & 0xff,
    ]);
    const decoded = await codec.decode<typeof value>(buf);
    expect(decoded).toMatchObject({ schemaId: first.id, subject, version: 1 });
    expect({ ...decoded.value }).toEqual(value);
  });

  it('refuses an incompatible version at registration, and says so when asked first', async () => {
    const subject = subjectFor('incompatible');
    await registry.setCompatibility(subject, 'BACKWARD_TRANSITIVE');
    await registry.register(subject, canonicalText(V1));
    expect(await registry.checkCompatibility(subject, canonicalText(V2))).toMatchObject({ compatible: true });
    expect(await registry.checkCompatibility(subject, canonicalText(BROKEN))).toMatchObject({
      compatible: false,
    });
    const err = await registry.register(subject, canonicalText(BROKEN)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('SCHEMA_INCOMPATIBLE');
    expect((err as PipelineError).message).toContain(subject);
    expect(await registry.versions(subject)).toEqual([1]);
  });

  it('lets a running codec pick up a newly registered version after refreshMs', async () => {
    const subject = subjectFor('refresh');
    await registry.setCompatibility(subject, 'BACKWARD_TRANSITIVE');
    const v1 = await registry.register(subject, canonicalText(V1));
    const codec = createCodec(registry, { refreshMs: 200 });
    const value = { id: 'p-2', amount: '1', at: 1 };
    expect((await codec.encode(subject, value)).readUInt32BE(1)).toBe(v1.id);
    // Not yet registered: the codec refuses the new field rather than registering anything.
    await expect(codec.encode(subject, { ...value, memo: 'x' })).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
    });

    const v2 = await registry.register(subject, canonicalText(V2));
    expect(v2.version).toBe(2);
    await waitFor(async () => (await codec.latestVersion(subject)).id === v2.id, {
      what: 'the codec to see the new version',
      timeoutMs: 10_000,
      intervalMs: 50,
    });
    const buf = await codec.encode(subject, { ...value, memo: 'x' });
    expect(buf.readUInt32BE(1)).toBe(v2.id);
    expect((await codec.decode(buf)).version).toBe(2);
  });

  it('deletes a subject', async () => {
    const subject = subjectFor('delete');
    await registry.register(subject, canonicalText(V1));
    expect(await registry.deleteSubject(subject)).toEqual([1]);
    await expect(registry.latest(subject)).rejects.toMatchObject({ code: 'SCHEMA_NOT_REGISTERED' });
    expect(await registry.deleteSubject(subject)).toEqual([]);
  });

  it('fails fast with REGISTRY_UNAVAILABLE when the registry is not there', async () => {
    const wrong = createRegistry({ url: url.replace(/:\d+\//, ':1/'), timeoutMs: 1000 });
    const codec = createCodec(wrong);
    const err = await codec.encode('anything-value', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('REGISTRY_UNAVAILABLE');
    expect((err as PipelineError).retryable).toBe(true);
    await wrong.close();
  });
});
