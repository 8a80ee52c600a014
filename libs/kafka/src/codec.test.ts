import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { decodeValue, encodeValue, valueSubject, type Codec } from './codec.ts';

const where = { topic: 'ehr.raw', partition: 2, offset: '41' };

function codecThat(fail: { encode?: Error; decode?: Error }): Codec & { subjects: string[] } {
  const subjects: string[] = [];
  return {
    subjects,
    encode: (subject) => {
      subjects.push(subject);
      return fail.encode === undefined ? Promise.resolve(Buffer.from('ok')) : Promise.reject(fail.encode);
    },
    decode: () =>
      fail.decode === undefined
        ? Promise.resolve({ value: { a: 1 }, schemaId: 7 })
        : Promise.reject(fail.decode),
  };
}

describe('encodeValue', () => {
  it('encodes under the TopicNameStrategy subject', async () => {
    const codec = codecThat({});
    expect(await encodeValue(codec, 'ehr.valid.Patient', { a: 1 }, 0)).toEqual(Buffer.from('ok'));
    expect(codec.subjects).toEqual(['ehr.valid.Patient-value']);
    expect(valueSubject('ehr.raw')).toBe('ehr.raw-value');
  });

  it('re-throws a contract error with the message index, keeping its code and cause', async () => {
    const cause = new PipelineError('SCHEMA_MISMATCH', 'field birthDate: expected long', {
      context: { field: 'birthDate' },
    });
    const err = await encodeValue(codecThat({ encode: cause }), 't', {}, 3).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'SCHEMA_MISMATCH',
      context: { field: 'birthDate', topic: 't', index: 3 },
    });
    expect((err as Error).cause).toBe(cause);
  });

  it('passes transient codec errors through unchanged', async () => {
    const transient = new PipelineError('REGISTRY_UNAVAILABLE', 'registry down');
    await expect(encodeValue(codecThat({ encode: transient }), 't', {}, 0)).rejects.toBe(transient);
  });

  it('does not carry the message of a foreign error (it may quote the value)', async () => {
    const err = await encodeValue(
      codecThat({ encode: new Error('invalid "string": CANARY-PHI') }),
      't',
      {},
      1,
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA_MISMATCH', context: { index: 1, codecError: 'Error' } });
    expect((err as Error).cause).toBeUndefined();
    expect(JSON.stringify(err) + (err as Error).message).not.toContain('CANARY-PHI');
  });
});

describe('decodeValue', () => {
  it('returns the decoded value and schema id', async () => {
    expect(await decodeValue(codecThat({}), Buffer.from('x'), where)).toEqual({
      value: { a: 1 },
      schemaId: 7,
    });
  });

  it('returns (not throws) a PARSE_ERROR for a tombstone or bytes a foreign error rejects', async () => {
    expect(await decodeValue(codecThat({}), null, where)).toMatchObject({
      code: 'PARSE_ERROR',
      context: where,
    });
    const foreign = await decodeValue(
      codecThat({ decode: new Error('bad magic CANARY') }),
      Buffer.from('x'),
      where,
    );
    expect(foreign).toMatchObject({ code: 'PARSE_ERROR', context: { ...where, codecError: 'Error' } });
    expect((foreign as Error).message).not.toContain('CANARY');
  });

  it('keeps the code of a permanent codec error and adds the position', async () => {
    const unknownSchema = new PipelineError('SCHEMA_NOT_REGISTERED', 'schema id 99 unknown');
    expect(await decodeValue(codecThat({ decode: unknownSchema }), Buffer.from('x'), where)).toMatchObject({
      code: 'SCHEMA_NOT_REGISTERED',
      context: where,
    });
  });

  it('throws transient and programmer errors, which retry or stop the batch', async () => {
    const transient = new PipelineError('REGISTRY_UNAVAILABLE', 'down');
    await expect(decodeValue(codecThat({ decode: transient }), Buffer.from('x'), where)).rejects.toBe(
      transient,
    );
    await expect(
      decodeValue(codecThat({ decode: new TypeError('bug') }), Buffer.from('x'), where),
    ).rejects.toThrow(TypeError);
  });
});
