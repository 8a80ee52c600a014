import { describe, expect, it } from 'vitest';
import { PipelineError } from '@ehrflow/errors';
import { waitFor } from '@ehrflow/testing';
import { canonicalText, parseAvro } from './avro.ts';
import { createCodec } from './codec.ts';
import type { RegisteredSchema, SchemaRegistry } from './registry.ts';

const CANARY = 'Zebediah-Quuxworth-1937';

const V1 = {
  type: 'record',
  name: 'Job',
  namespace: 'ehrflow.test',
  fields: [
    { name: 'jobId', type: 'string' },
    { name: 'state', type: { type: 'enum', name: 'State', symbols: ['running', 'done'] } },
    { name: 'counts', type: { type: 'record', name: 'Counts', fields: [{ name: 'read', type: 'long' }] } },
    { name: 'tags', type: { type: 'map', values: 'int' } },
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};
const V2 = { ...V1, fields: [...V1.fields, { name: 'extra', type: ['null', 'string'], default: null }] };

/** An in-memory registry: versions per subject, ids across subjects; `register` must never be called. */
function fakeRegistry() {
  const byId = new Map<number, RegisteredSchema>();
  const subjects = new Map<string, RegisteredSchema[]>();
  let nextId = 40;
  let down = false;
  let latestCalls = 0;
  const add = (subject: string, json: unknown): RegisteredSchema => {
    const versions = subjects.get(subject) ?? [];
    const text = canonicalText(json);
    const entry = {
      subject,
      version: versions.length + 1,
      id: nextId++,
      text,
      schema: parseAvro(json, subject),
    };
    subjects.set(subject, [...versions, entry]);
    byId.set(entry.id, entry);
    return entry;
  };
  const unavailable = () => new PipelineError('REGISTRY_UNAVAILABLE', 'fake registry is down');
  const missing = () => new PipelineError('SCHEMA_NOT_REGISTERED', 'not registered');
  const registry = {
    url: 'fake://registry',
    latest: (subject: string) => {
      latestCalls += 1;
      if (down) return Promise.reject(unavailable());
      const v = subjects.get(subject)?.at(-1);
      return v === undefined ? Promise.reject(missing()) : Promise.resolve(v);
    },
    byId: (id: number) => {
      const s = byId.get(id);
      return s === undefined
        ? Promise.reject(missing())
        : Promise.resolve({ id, text: s.text, schema: s.schema });
    },
    subjectVersionsOf: (id: number) => {
      const s = byId.get(id);
      return Promise.resolve(s === undefined ? [] : [{ subject: s.subject, version: s.version }]);
    },
    register: () => Promise.reject(new Error('the codec must never register')),
  } as unknown as SchemaRegistry;
  return {
    registry,
    add,
    setDown: (v: boolean) => {
      down = v;
    },
    latestCalls: () => latestCalls,
  };
}

const value = {
  jobId: 'job-1',
  state: 'running',
  counts: { read: 12 },
  tags: { a: 1 },
  note: null,
};

describe('createCodec', () => {
  it('encodes with the latest registered version: magic 0, 4-byte big-endian id, Avro body; decodes back', async () => {
    const fake = fakeRegistry();
    const v1 = fake.add('job-value', V1);
    const codec = createCodec(fake.registry);
    const buf = await codec.encode('job-value', value);
    expect(buf[0]).toBe(0);
    expect(buf.readUInt32BE(1)).toBe(v1.id);
    expect(buf.subarray(5).equals(v1.schema.toBuffer(value))).toBe(true);
    const decoded = await codec.decode(buf);
    expect(decoded).toMatchObject({ schemaId: v1.id, subject: 'job-value', version: 1 });
    expect({ ...(decoded.value as object), counts: { read: 12 } }).toMatchObject(value);
  });

  it('decodes records whose for…in walk yields their fields only (no inherited record methods)', async () => {
    const fake = fakeRegistry();
    fake.add('job-value', V1);
    const codec = createCodec(fake.registry);
    const decoded = (await codec.decode(await codec.encode('job-value', value))).value as object;
    const walked: string[] = [];
    for (const name in decoded) walked.push(name);
    expect(walked).toEqual(Object.keys(decoded));
    expect(walked.sort()).toEqual(Object.keys(value).sort());
  });

  it('frames values of every size exactly like the Avro body after the header, a large one first or last', async () => {
    const fake = fakeRegistry();
    const v1 = fake.add('job-value', V1);
    const codec = createCodec(fake.registry);
    // Over avsc's 1 KiB shared buffer, over the codec's first 4 KiB scratch, then small again:
    // no bytes of a larger value may leak into a smaller one encoded after it.
    const lengths = [3, 2_000, 50_000, 10, 9_000, 0];
    const sized = lengths.map((n) => ({
      ...value,
      jobId: 'j'.repeat(n),
      note: n % 2 === 0 ? 'n'.repeat(n) : null,
    }));
    const encoded: Buffer[] = [];
    for (const v of sized) encoded.push(await codec.encode('job-value', v));
    // Checked after all of them were encoded: no result shares memory with a later one.
    for (const [i, buf] of encoded.entries()) {
      const body = v1.schema.toBuffer(sized[i]);
      expect(buf.length).toBe(5 + body.length);
      expect(buf[0]).toBe(0);
      expect(buf.readUInt32BE(1)).toBe(v1.id);
      expect(buf.subarray(5).equals(body)).toBe(true);
      expect((await codec.decode<{ jobId: string }>(buf)).value.jobId).toHaveLength(lengths[i] ?? -1);
    }
  });

  it('refuses a mismatching value with SCHEMA_MISMATCH naming subject, version, paths and types, never the value', async () => {
    const fake = fakeRegistry();
    fake.add('job-value', V1);
    const codec = createCodec(fake.registry);
    const bad = {
      ...value,
      jobId: 7,
      state: CANARY,
      counts: { read: CANARY },
      tags: { [CANARY]: CANARY },
      note: 5,
    };
    const err = await codec.encode('job-value', bad).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PipelineError);
    const e = err as PipelineError;
    expect(e.code).toBe('SCHEMA_MISMATCH');
    expect(e.message).toContain('job-value v1');
    expect(e.message).toContain('jobId: expected string, got number');
    expect(e.message).toContain('state: expected enum State, got string');
    expect(e.message).toContain('counts.read: expected long, got string');
    expect(e.message).toContain('tags[*]: expected int, got string');
    expect(e.message).toContain('note: expected null | string, got number');
    expect(e.context).toMatchObject({ subject: 'job-value', version: 1, fieldPath: 'jobId', problems: 5 });
    const everything = `${e.message} ${e.stack ?? ''} ${JSON.stringify(e)} ${JSON.stringify(e.context)} ${String(e.cause)}`;
    expect(everything).not.toContain(CANARY);
    expect(everything).not.toContain('Zebediah');
  });

  it('refuses a missing required field and an undeclared one', async () => {
    const fake = fakeRegistry();
    fake.add('job-value', V1);
    const codec = createCodec(fake.registry);
    const missing: Partial<typeof value> = { ...value };
    delete missing.jobId;
    await expect(codec.encode('job-value', missing)).rejects.toThrow(/jobId: expected string, got missing/);
    await expect(codec.encode('job-value', { ...value, [CANARY]: 1 })).rejects.toMatchObject({
      code: 'SCHEMA_MISMATCH',
      message: expect.stringMatching(/field not declared by the schema/),
    });
    const lenient = createCodec(fake.registry, { allowUndeclaredFields: true });
    expect((await lenient.encode('job-value', { ...value, spare: 1 }))[0]).toBe(0);
  });

  it('fills a defaulted field left out', async () => {
    const fake = fakeRegistry();
    fake.add('job-value', V1);
    const codec = createCodec(fake.registry);
    const withoutNote: Partial<typeof value> = { ...value };
    delete withoutNote.note;
    const decoded = await codec.decode<{ note: unknown }>(await codec.encode('job-value', withoutNote));
    expect(decoded.value.note).toBeNull();
  });

  it('fails on an unregistered subject with SCHEMA_NOT_REGISTERED and never registers', async () => {
    const fake = fakeRegistry();
    const codec = createCodec(fake.registry);
    await expect(codec.encode('nope-value', value)).rejects.toMatchObject({ code: 'SCHEMA_NOT_REGISTERED' });
  });

  it('picks up a newly registered version after refreshMs, without blocking on the lookup', async () => {
    const fake = fakeRegistry();
    const v1 = fake.add('job-value', V1);
    let clock = 1_000;
    const codec = createCodec(fake.registry, { refreshMs: 100, now: () => clock });
    expect((await codec.latestVersion('job-value')).id).toBe(v1.id);
    const v2 = fake.add('job-value', V2);
    clock += 50;
    expect((await codec.encode('job-value', value)).readUInt32BE(1)).toBe(v1.id); // still fresh
    clock += 60;
    // Stale: this call still uses v1 and starts one background lookup.
    expect((await codec.encode('job-value', value)).readUInt32BE(1)).toBe(v1.id);
    await waitFor(async () => (await codec.latestVersion('job-value')).id === v2.id, {
      what: 'the codec to see version 2',
      timeoutMs: 2_000,
      intervalMs: 5,
    });
    expect((await codec.encode('job-value', { ...value, extra: 'x' })).readUInt32BE(1)).toBe(v2.id);
  });

  it('keeps serving the known version while the registry is down, and reports the failed refresh', async () => {
    const fake = fakeRegistry();
    const v1 = fake.add('job-value', V1);
    let clock = 0;
    const failures: string[] = [];
    const codec = createCodec(fake.registry, {
      refreshMs: 10,
      now: () => clock,
      onRefreshError: (err, subject) => failures.push(`${subject}:${(err as PipelineError).code}`),
    });
    await codec.latestVersion('job-value');
    fake.setDown(true);
    clock = 20;
    expect((await codec.encode('job-value', value)).readUInt32BE(1)).toBe(v1.id);
    await waitFor(() => failures.length === 1, {
      what: 'one refresh failure',
      timeoutMs: 2_000,
      intervalMs: 5,
    });
    expect(failures).toEqual(['job-value:REGISTRY_UNAVAILABLE']);
    // A failed refresh waits a full period before the next attempt.
    const calls = fake.latestCalls();
    await codec.encode('job-value', value);
    expect(fake.latestCalls()).toBe(calls);
  });

  it('rejects frames that are not Confluent-framed Avro', async () => {
    const fake = fakeRegistry();
    const v1 = fake.add('job-value', V1);
    const codec = createCodec(fake.registry);
    const good = await codec.encode('job-value', value);
    const wrongMagic = Buffer.from(good);
    wrongMagic[0] = 1;
    await expect(codec.decode(wrongMagic)).rejects.toMatchObject({
      code: 'PARSE_ERROR',
      message: expect.stringMatching(/magic byte 1/),
    });
    await expect(codec.decode(Buffer.from([0, 0]))).rejects.toMatchObject({ code: 'PARSE_ERROR' });
    await expect(codec.decode(good.subarray(0, good.length - 2))).rejects.toMatchObject({
      code: 'PARSE_ERROR',
      message: `Avro payload does not decode with its writer schema id ${v1.id}`,
    });
    const unknownId = Buffer.from(good);
    unknownId.writeUInt32BE(9999, 1);
    await expect(codec.decode(unknownId)).rejects.toMatchObject({ code: 'SCHEMA_NOT_REGISTERED' });
  });
});
