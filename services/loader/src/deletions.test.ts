import type { Codec } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import { createLogger } from '@ehrflow/logging';
import type { KafkaMessage } from '@ehrflow/kafka';
import type { Pool, PoolClient } from 'pg';
import { describe, expect, it } from 'vitest';
import { checkDeletionSchema, createDeletionDecoder } from './deletions.ts';
import { loadBatch, type BatchRecord } from './load-batch.ts';
import type { LoadRow } from './rows.ts';
import { tableModelOf, type TableModel } from './table-model.ts';
import { cleanPatientSchema } from './testing/clean-fixtures.ts';
import { deletion, schemaFile } from './testing/pipeline-fixtures.ts';
import type { Writer } from './writers.ts';

const log = createLogger({ name: 'loader-deletions-test', level: 'silent' });

/** A codec that "decodes" a message whose value is JSON (schema id 9), or refuses a `!` value. */
const codec = {
  decode: (bytes: Buffer) =>
    bytes.toString('utf8') === '!'
      ? Promise.reject(new PipelineError('SCHEMA_MISMATCH', 'not a record of the schema'))
      : Promise.resolve({ value: JSON.parse(bytes.toString('utf8')) as unknown, schemaId: 9 }),
} as unknown as Codec;

const message = (offset: number, value: unknown, headers: KafkaMessage['headers'] = {}): KafkaMessage => ({
  offset: String(offset),
  key: Buffer.from('k'),
  value: value === null ? null : Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers,
  timestamp: '0',
  attributes: 0,
});

describe('deletion decoder', () => {
  it('marks every deletion of a served type as a DELETE, and rejects what cannot become a tombstone', async () => {
    const decode = createDeletionDecoder({ codec, served: new Set(['Patient', 'Observation']), log });
    const { records, rejected } = await decode('t.clean.deletions', 0, [
      message(0, deletion('j', 'r0', 'Patient', 'p0'), { 'ehrflow-kind': 'UPSERT' }),
      message(1, deletion('j', 'r1', 'Observation', 'o1')),
      message(2, deletion('j', 'r2', 'Claim', 'c2')),
      message(3, { ...deletion('j', 'r3', 'Patient', 'p3'), logicalId: 7 }),
      message(4, '!'),
      message(5, null),
    ]);
    expect(
      records.map((r) => [r.offset, r.value.resourceType, r.headers['ehrflow-kind'], r.schemaId]),
    ).toEqual([
      ['0', 'Patient', 'DELETE', 9],
      ['1', 'Observation', 'DELETE', 9],
    ]);
    expect(rejected.map((r) => [r.offset, r.code])).toEqual([
      ['2', 'UNKNOWN_RESOURCE_TYPE'],
      ['3', 'SCHEMA_MISMATCH'],
      ['4', 'SCHEMA_MISMATCH'],
      ['5', 'PARSE_ERROR'],
    ]);
  });

  it('throws a transient decode failure so the batch is retried', async () => {
    const down = {
      decode: () => Promise.reject(new PipelineError('REGISTRY_UNAVAILABLE', 'down')),
    } as unknown as Codec;
    const decode = createDeletionDecoder({ codec: down, served: new Set(['Patient']), log });
    await expect(decode('t', 0, [message(0, deletion('j', 'r0', 'Patient', 'p0'))])).rejects.toMatchObject({
      code: 'REGISTRY_UNAVAILABLE',
    });
  });
});

describe('checkDeletionSchema', () => {
  it('accepts the deletion schema and refuses one without a string resourceType', () => {
    const schema = schemaFile('pipeline/deletion.avsc');
    expect(() => checkDeletionSchema(JSON.stringify(schema), 'd')).not.toThrow();
    const fields = (schema.fields as { name: string }[]).filter((f) => f.name !== 'resourceType');
    expect(() => checkDeletionSchema(JSON.stringify({ ...schema, fields }), 'd v2')).toThrow(
      /d v2: the loader needs a string field resourceType in a deletion \(found none\)/,
    );
  });
});

describe('loadBatch with deletions', () => {
  it('routes each deletion to the table of its type as a tombstone, in the one transaction with the position', async () => {
    const models = new Map<string, TableModel>(
      ['Patient', 'Observation'].map((t) => [t, tableModelOf(t, cleanPatientSchema())]),
    );
    const statements: string[] = [];
    const client = {
      query: (text: string) => {
        statements.push(text.trim().split(/\s+/).slice(0, 2).join(' '));
        if (text.startsWith('SELECT next_offset')) return Promise.resolve({ rows: [{ next_offset: '0' }] });
        return Promise.resolve({ rows: [], rowCount: 1 });
      },
      release: () => undefined,
      on: () => undefined,
      removeListener: () => undefined,
    } as unknown as PoolClient;
    const pool = { connect: () => Promise.resolve(client) } as unknown as Pool;
    const written: { table: string; rows: LoadRow[] }[] = [];
    const writer: Writer = {
      mode: 'staging',
      write: (_client, target, rows) => {
        statements.push(`write ${target.model.table}`);
        written.push({ table: target.model.table, rows: [...rows] });
        return Promise.resolve({ upserted: 0, deleted: rows.length, ignored: 0 });
      },
    };
    const record = (offset: number, type: string, id: string): BatchRecord => ({
      offset: String(offset),
      value: deletion('job-since', `r-${id}`, type, id),
      headers: { 'ehrflow-kind': 'DELETE' },
      schemaId: 9,
    });
    const outcome = await loadBatch(
      {
        pool,
        schema: 'clean',
        groupId: 'g',
        model: (r) => models.get(String(r.value.resourceType)) as TableModel,
        writer,
      },
      {
        topic: 'ehr.clean.deletions',
        partition: 1,
        records: [record(0, 'Patient', 'p1'), record(1, 'Observation', 'o1'), record(2, 'Patient', 'p2')],
        rejected: [],
        lastOffset: '2',
      },
    );
    expect(
      written.map((w) => [w.table, w.rows.map((r) => [r.logicalId, r.deleted, r.orderVersion])]),
    ).toEqual([
      [
        'patient',
        [
          ['p1', true, null],
          ['p2', true, null],
        ],
      ],
      ['observation', [['o1', true, null]]],
    ]);
    expect(outcome).toMatchObject({ deleted: 3, fresh: 3, next: 3n });
    // One transaction: the writes and the position between BEGIN and COMMIT.
    expect(statements[0]).toBe('BEGIN');
    expect(statements.at(-1)).toBe('COMMIT');
    expect(statements.filter((s) => s.startsWith('write'))).toEqual(['write patient', 'write observation']);
    expect(statements.some((s) => s === 'UPDATE "clean"."loader_offsets"')).toBe(true);
  });
});
