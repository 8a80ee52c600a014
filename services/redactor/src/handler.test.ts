import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import {
  checkSafeHarbor,
  createDeidentifier,
  createPatientDirectory,
  createSharedPatientDirectory,
  leakScan,
  loadPolicy,
  type DirectoryStore,
  type PatientDirectory,
  type Policy,
} from '@ehrflow/deid';
import { PipelineError } from '@ehrflow/errors';
import type { DecodedRecord, InputRecord, Output } from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createMetrics } from '@ehrflow/service';
import { createKeyring, decryptPayload, encryptField, isEncryptedField } from '@ehrflow/phi';
import { planCleanSchemas, type CleanPlan } from './clean-schemas.ts';
import { createDecryptor } from './decrypt.ts';
import { createDeletionRedactor, planDeletions } from './deletions.ts';
import { createDeidPool, createDeidWorkers, type DeidPool, type DeidWorkers } from './deid-workers.ts';
import { createRedactHandler, type BatchDirectory } from './handler.ts';
import { createRedactorMetrics } from './metrics.ts';
import {
  TEST_TYPES,
  canariesOf,
  contractJson,
  contractOfType,
  fakeRegistry,
  keyOf,
  people,
  pipelineSchemaJson,
  resourceOf,
  validRecord,
  type TestType,
} from './testing/fixtures.ts';

const PSEUDONYM_KEY = Buffer.alloc(32, 4);
const ring = createKeyring([
  ['k1', Buffer.alloc(32, 1)],
  ['k2', Buffer.alloc(32, 2)],
]);
const topics = { validPrefix: 'ehr.valid.', cleanPrefix: 'ehr.clean.', quarantine: 'ehr.quarantine' };
const NOW = new Date('2025-06-01T00:00:00Z');

interface SetupOptions {
  /** The deidentifier's directory; a fresh in-memory one by default, `null` for none. */
  readonly directory?: PatientDirectory | null;
  /** Batch hooks of a shared directory. */
  readonly batchDirectory?: BatchDirectory;
}

/** The deletions part of the handler's dependencies, for a plan over a registry holding the deletion schema. */
async function deletionsOf(registry: ReturnType<typeof fakeRegistry>['registry'], plan: CleanPlan) {
  const deletionPlan = await planDeletions(registry, topics);
  const redactor = createDeletionRedactor({
    plan: deletionPlan,
    policy: plan.policy,
    types: [...plan.types.keys()],
    ring,
    pseudonymKey: PSEUDONYM_KEY,
  });
  return { plan: deletionPlan, redactor };
}

/** Worker threads of the handlers `setup` makes (each block below runs with 0 and with 2). */
let workerThreads = 0;
const pools: DeidWorkers[] = [];
/** Started once per directory setting and shared by the handlers (workers take seconds to start). */
const sharedPools = new Map<boolean, DeidPool>();
afterAll(async () => {
  await Promise.all([...pools, ...sharedPools.values()].map((p) => p.close()));
});

async function setup(options: SetupOptions = {}) {
  const { registry, add } = fakeRegistry();
  for (const type of TEST_TYPES) add(`ehr.valid.${type}-value`, contractJson(type));
  add('ehr.valid.deletions-value', pipelineSchemaJson('deletion.avsc'));
  const plan = await planCleanSchemas(registry, {
    types: [...TEST_TYPES],
    topics,
    policy: loadPolicy('safe-harbor'),
  });
  const lines: string[] = [];
  const logger = createLogger({
    name: 'redactor-test',
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  });
  const decryptors = new Map(
    [...plan.types].map(([type, t]) => [type, createDecryptor(t.valid.contract, ring)]),
  );
  const serviceMetrics = createMetrics('redactor-test');
  const metrics = createRedactorMetrics(serviceMetrics);
  const directory = options.directory === undefined ? createPatientDirectory(100) : options.directory;
  const deidentifier = createDeidentifier({
    policy: plan.policy,
    pseudonymKey: PSEUDONYM_KEY,
    now: () => NOW,
    ...(directory === null ? {} : { directory }),
    onFreeTextWithheld: (type, _field, reason) => metrics.freeTextWithheld.inc({ type, reason }),
  });
  let workers: DeidWorkers | undefined;
  if (workerThreads > 0) {
    const options = {
      threads: workerThreads,
      policy: loadPolicy('safe-harbor'),
      contracts: [...plan.types.values()].map((t) => ({
        type: t.valid.type,
        json: t.valid.json,
        label: t.valid.subject,
      })),
      pseudonymKey: PSEUDONYM_KEY,
      directory: directory !== null,
      now: () => NOW,
      onFreeTextWithheld: (type: string, reason: string) => metrics.freeTextWithheld.inc({ type, reason }),
    };
    let pool = sharedPools.get(options.directory);
    if (pool === undefined) {
      pool = createDeidPool(options);
      sharedPools.set(options.directory, pool);
    }
    workers = createDeidWorkers(options, pool);
  }
  const h = createRedactHandler({
    plan,
    topics,
    deidentifier,
    ...(workers === undefined ? {} : { workers }),
    decryptors,
    deletions: await deletionsOf(registry, plan),
    ring,
    logger,
    metrics,
    now: () => NOW.getTime(),
    ...(options.batchDirectory === undefined ? {} : { directory: options.batchDirectory }),
  });
  const withheld = async (): Promise<Record<string, number>> => {
    const metric = await serviceMetrics.registry
      .getSingleMetric('ehrflow_redactor_free_text_withheld_total')
      ?.get();
    return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.type), v.value]));
  };
  const counted = async (): Promise<Record<string, number>> => {
    const metric = await serviceMetrics.registry.getSingleMetric('ehrflow_redactor_records_total')?.get();
    return Object.fromEntries(
      (metric?.values ?? []).map((v) => [
        `${String(v.labels.outcome)} ${String(v.labels.resource_type)}`,
        v.value,
      ]),
    );
  };
  return { ...h, lines, withheld, counted };
}

/** A shared-directory store in a Map, as Redis holds it. */
function memoryStore(): DirectoryStore & { data: Map<string, Set<string>>; down: boolean } {
  const data = new Map<string, Set<string>>();
  const store = {
    data,
    down: false,
    fetch: (keys: readonly string[]) =>
      store.down
        ? Promise.reject(new PipelineError('REDIS_UNAVAILABLE', 'down'))
        : Promise.resolve(keys.map((k) => [...(data.get(k) ?? [])])),
    add: (entries: ReadonlyMap<string, readonly string[]>) => {
      if (store.down) return Promise.reject(new PipelineError('REDIS_UNAVAILABLE', 'down'));
      for (const [k, list] of entries) data.set(k, new Set([...(data.get(k) ?? []), ...list]));
      return Promise.resolve();
    },
  };
  return store;
}

let offset = 0;
function input(type: string, value: Record<string, unknown>, key: string | null): DecodedRecord {
  offset += 1;
  return {
    topic: `ehr.valid.${type}`,
    partition: 0,
    offset: String(offset),
    key,
    headers: {},
    timestamp: 0,
    value,
    schemaId: 1,
  };
}

const siteA = people(3, 'site-a');

describe.each([{ threads: 0 }, { threads: 2 }])(
  'redact handler (worker threads: $threads)',
  ({ threads }) => {
    beforeAll(() => {
      workerThreads = threads;
    });

    it('produces Safe Harbor records to the clean topics, keeping the Kafka key (Patients first, so notes lose names)', async () => {
      const { handler } = await setup();
      const batch: InputRecord[] = [];
      const sources = new Map<string, { type: TestType; plain: Record<string, unknown> }>();
      for (const p of siteA) {
        for (const type of TEST_TYPES) {
          const { plain, encrypted } = validRecord(type, resourceOf(type, p, 1), p.sourceId, ring);
          sources.set(String(plain.recordId), { type, plain: { ...plain } });
          batch.push(input(type, encrypted, keyOf(PSEUDONYM_KEY, p)));
        }
      }
      const outputs = await handler(batch);
      expect(outputs).toHaveLength(batch.length);
      for (const [i, out] of outputs.entries()) {
        const source = sources.get(String((out.value as Record<string, unknown>).recordId));
        if (source === undefined) throw new Error('unmatched output');
        expect(out.topic).toBe(`ehr.clean.${source.type}`);
        expect(out.key).toBe(batch[i]?.key);
        expect(
          checkSafeHarbor({
            contract: contractOfType(source.type),
            source: source.plain,
            clean: out.value as Record<string, unknown>,
            now: NOW,
          }),
        ).toEqual([]);
      }
      expect(
        leakScan(
          outputs.map((o) => ({ where: o.topic, text: JSON.stringify(o.value) })),
          siteA.flatMap(canariesOf),
        ),
      ).toEqual([]);
    });

    it('counts the records of each batch by outcome and type', async () => {
      const { handler, counted } = await setup();
      const batch = siteA.flatMap((p) =>
        TEST_TYPES.map((type) =>
          input(
            type,
            validRecord(type, resourceOf(type, p, 1), p.sourceId, ring).encrypted,
            keyOf(PSEUDONYM_KEY, p),
          ),
        ),
      );
      await handler(batch);
      const [p] = siteA;
      if (p === undefined) throw new Error('fixture');
      const { encrypted } = validRecord('Patient', resourceOf('Patient', p, 1), p.sourceId, ring);
      // A PHI value in clear: refused by the decryptor, quarantined.
      await handler([...batch, input('Patient', { ...encrypted, nameFamily: 'Quillon' }, 'key-1')]);
      const n = siteA.length * 2;
      expect(await counted()).toEqual({
        'clean Patient': n,
        'clean Observation': n,
        'clean Condition': n,
        'quarantined Patient': 1,
      });
    });

    it('quarantines a record whose key is not in the ring, sealed, with a PHI-free reason and log', async () => {
      const { handler, lines } = await setup();
      const [p] = siteA;
      if (p === undefined) throw new Error('fixture');
      const { encrypted } = validRecord('Patient', resourceOf('Patient', p, 1), p.sourceId, ring);
      const stranger = createKeyring([['k9', Buffer.alloc(32, 9)]]);
      const bad = { ...encrypted, nameFamily: encryptField(stranger, p.family) };
      const [out] = await handler([input('Patient', bad, 'key-1')]);
      expect(out?.topic).toBe('ehr.quarantine');
      const q = out?.value as Record<string, unknown>;
      expect(q).toMatchObject({
        reason: 'decrypt_failed',
        fieldPath: 'Patient.nameFamily',
        resourceType: 'Patient',
        schemaSubject: 'ehr.valid.Patient-value',
        schemaVersion: 1,
        sourceTopic: 'ehr.valid.Patient',
        keyId: 'k2',
      });
      const clearFields = JSON.stringify({ ...q, payload: undefined });
      expect(leakScan([clearFields, lines.join('')], canariesOf(p))).toEqual([]);
      expect(lines.join('')).toContain('record quarantined by the redactor');
      // the payload is the valid record, still field-encrypted, sealed with the active key
      const sealed = JSON.parse(decryptPayload(ring, q.payload as Buffer).toString('utf8')) as Record<
        string,
        unknown
      >;
      expect(sealed.recordId).toBe(encrypted.recordId);
      expect(String(sealed.identifierSsn)).toMatch(/^enc:v3:/);
    });

    it('quarantines undecodable records and unknown topics, and never drops', async () => {
      const { handler } = await setup();
      const undecodable: InputRecord = {
        topic: 'ehr.valid.Observation',
        partition: 1,
        offset: '7',
        key: null,
        headers: {},
        timestamp: 0,
        decodeError: new PipelineError('PARSE_ERROR', 'bad frame'),
        raw: Buffer.from([1, 2, 3]),
      };
      const outputs = await handler([undecodable, input('Claim', { recordId: 'x' }, 'k')]);
      expect(outputs.map((o) => [o.topic, (o.value as Record<string, unknown>).reason])).toEqual([
        ['ehr.quarantine', 'parse_error'],
        ['ehr.quarantine', 'unknown_resource_type'],
      ]);
    });

    it('quarantines a value its method cannot process', async () => {
      const { handler } = await setup();
      const [p] = siteA;
      if (p === undefined) throw new Error('fixture');
      // One self-contained value per field (records of older validators), so one can be swapped.
      const { encrypted } = validRecord('Patient', resourceOf('Patient', p, 1), p.sourceId, ring, 'v1');
      const [out] = await handler([
        input('Patient', { ...encrypted, birthDate: encryptField(ring, 'sometime in spring') }, 'k'),
      ]);
      expect(out?.value).toMatchObject({ reason: 'contract_violation', fieldPath: 'Patient.birthDate' });
      expect(JSON.stringify(out?.value)).not.toContain('spring');
    });

    it('turns a clean record its schema refuses into a quarantine record', async () => {
      const { handler, onQuarantine } = await setup();
      const [p] = siteA;
      if (p === undefined) throw new Error('fixture');
      const { encrypted } = validRecord('Patient', resourceOf('Patient', p, 1), p.sourceId, ring);
      const [out] = await handler([input('Patient', encrypted, 'k')]);
      const err = new PipelineError('SCHEMA_MISMATCH', 'value does not match', {
        context: { version: 3, fieldPath: 'birthDate' },
      });
      const q = await onQuarantine(out as Output, err);
      expect(q.topic).toBe('ehr.quarantine');
      expect(q.value).toMatchObject({
        reason: 'schema_mismatch',
        schemaSubject: 'ehr.clean.Patient-value',
        schemaVersion: 3,
      });
    });

    it('quarantines a decoded value that is not a record', async () => {
      const { handler } = await setup();
      const [out] = await handler([{ ...input('Patient', {}, 'k'), value: null as unknown as object }]);
      expect(out?.value).toMatchObject({ reason: 'parse_error' });
    });

    it('throws what is not the record fault, so the chunk is retried or the runner stops', async () => {
      const { registry, add } = fakeRegistry();
      add('ehr.valid.Patient-value', contractJson('Patient'));
      add('ehr.valid.deletions-value', pipelineSchemaJson('deletion.avsc'));
      const plan = await planCleanSchemas(registry, {
        types: ['Patient'],
        topics,
        policy: loadPolicy('safe-harbor'),
      });
      const deletions = await deletionsOf(registry, plan);
      const failing = (err: Error) =>
        createRedactHandler({
          plan,
          topics,
          deidentifier: {
            policy: plan.policy,
            deidentify: () => {
              throw err;
            },
            directorySubject: () => undefined,
            directoryStep: () => undefined,
          },
          decryptors: new Map([['Patient', (r: Readonly<Record<string, unknown>>) => ({ ...r })]]),
          deletions,
          ring,
          logger: createLogger({ name: 't', level: 'silent' }),
        }).handler;
      const transient = new PipelineError('REGISTRY_UNAVAILABLE', 'down');
      await expect(failing(transient)([input('Patient', { recordId: 'r' }, 'k')])).rejects.toBe(transient);
      const bug = new TypeError('bug');
      await expect(failing(bug)([input('Patient', { recordId: 'r' }, 'k')])).rejects.toBe(bug);
    });

    it('withholds the notes of a patient it has not seen, counts them, and leaks nothing', async () => {
      const { handler, withheld } = await setup();
      const [p] = siteA;
      if (p === undefined) throw new Error('fixture');
      const obs = validRecord('Observation', resourceOf('Observation', p, 1), p.sourceId, ring).encrypted;
      const [out] = await handler([input('Observation', obs, keyOf(PSEUDONYM_KEY, p))]);
      expect(out?.topic).toBe('ehr.clean.Observation');
      const clean = out?.value as Record<string, unknown>;
      expect(clean.noteText).toEqual(['[WITHHELD]']);
      expect(clean.valueString).toBe('[WITHHELD]');
      expect(await withheld()).toEqual({ Observation: 2 });
      expect(leakScan([JSON.stringify(clean)], canariesOf(p))).toEqual([]);

      // Once the Patient went through, the same patient's notes are published, scrubbed.
      const patient = validRecord('Patient', resourceOf('Patient', p, 1), p.sourceId, ring).encrypted;
      await handler([input('Patient', patient, keyOf(PSEUDONYM_KEY, p))]);
      const [again] = await handler([input('Observation', obs, keyOf(PSEUDONYM_KEY, p))]);
      const scrubbed = again?.value as Record<string, unknown>;
      expect(String((scrubbed.noteText as string[])[0])).toMatch(/^\[NAME\] \[NAME\] \(MRN \[ID\]/);
      expect(leakScan([JSON.stringify(scrubbed)], canariesOf(p))).toEqual([]);
      expect(await withheld()).toEqual({ Observation: 2 });
    });

    it('withholds every note when the directory is off', async () => {
      const { handler, withheld } = await setup({ directory: null });
      const [p] = siteA;
      if (p === undefined) throw new Error('fixture');
      const patient = validRecord('Patient', resourceOf('Patient', p, 1), p.sourceId, ring).encrypted;
      const cond = validRecord('Condition', resourceOf('Condition', p, 1), p.sourceId, ring).encrypted;
      const outputs = await handler([input('Patient', patient, 'k'), input('Condition', cond, 'k')]);
      expect((outputs[1]?.value as Record<string, unknown>).noteText).toEqual(['[WITHHELD]']);
      expect((await withheld()).Condition).toBeGreaterThan(0);
    });

    it('shares what one replica learnt with another through the store, and retries when the store is down', async () => {
      const store = memoryStore();
      const replica = () => {
        const directory = createSharedPatientDirectory({
          local: createPatientDirectory(100),
          store,
          pseudonymKey: PSEUDONYM_KEY,
        });
        return setup({ directory, batchDirectory: directory });
      };
      const a = await replica();
      const b = await replica();
      const patients = siteA.map((p) =>
        input(
          'Patient',
          validRecord('Patient', resourceOf('Patient', p, 1), p.sourceId, ring).encrypted,
          'k',
        ),
      );
      const observations = siteA.map((p) =>
        input(
          'Observation',
          validRecord('Observation', resourceOf('Observation', p, 1), p.sourceId, ring).encrypted,
          'k',
        ),
      );
      store.down = true;
      await expect(a.handler(patients)).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE', retryable: true });
      store.down = false;
      await a.handler(patients);
      expect(store.data.size).toBe(siteA.length);
      expect(
        leakScan([JSON.stringify([...store.data].map(([k, v]) => [k, [...v]]))], siteA.flatMap(canariesOf)),
      ).toEqual([]);

      const outputs = await b.handler(observations);
      for (const out of outputs) {
        const notes = (out.value as Record<string, unknown>).noteText as string[];
        expect(notes[0]).toMatch(/^\[NAME\] \[NAME\] \(MRN \[ID\]/);
      }
      expect(
        leakScan(
          outputs.map((o) => JSON.stringify(o.value)),
          siteA.flatMap(canariesOf),
        ),
      ).toEqual([]);
      expect(await b.withheld()).toEqual({});
    });

    describe('deletions', () => {
      /** A valid Deletion as the validator produces it: the logical id field-encrypted. */
      function validDeletion(type: string, id: string, overrides: Record<string, unknown> = {}) {
        return {
          recordId: `del-${type}-${id}`,
          jobId: 'job-since',
          sourceId: 'site-a',
          resourceType: type,
          logicalId: encryptField(ring, id),
          sourceLocator: 'file 1 line 1',
          deleted: true,
          deidPolicy: null,
          deidPolicyVersion: null,
          ...overrides,
        };
      }
      const deletionInput = (value: Record<string, unknown>, key = 'k-del'): DecodedRecord => ({
        ...input('deletions', value, key),
      });

      it('pseudonymises the logical id exactly as the upsert of the same resource, to ehr.clean.deletions', async () => {
        const { handler } = await setup();
        const [p] = siteA;
        if (p === undefined) throw new Error('fixture');
        const resource = resourceOf('Observation', p, 1);
        const upsert = validRecord('Observation', resource, p.sourceId, ring).encrypted;
        const [cleanUpsert, cleanDeletion] = await handler([
          input('Observation', upsert, keyOf(PSEUDONYM_KEY, p)),
          deletionInput(validDeletion('Observation', String(resource.id))),
        ]);
        expect(cleanUpsert?.topic).toBe('ehr.clean.Observation');
        expect(cleanDeletion).toMatchObject({
          topic: 'ehr.clean.deletions',
          key: 'k-del',
          headers: { 'ehrflow-kind': 'DELETE' },
          value: {
            recordId: 'del-Observation-' + String(resource.id),
            jobId: 'job-since',
            sourceId: 'site-a',
            resourceType: 'Observation',
            sourceLocator: 'file 1 line 1',
            deleted: true,
            deidPolicy: 'safe-harbor',
            deidPolicyVersion: '1.0.0',
          },
        });
        const pseudonym = (cleanDeletion?.value as Record<string, unknown>).logicalId;
        expect(pseudonym).toBe((cleanUpsert?.value as Record<string, unknown>).logicalId);
        expect(pseudonym).not.toBe(resource.id);
        expect(isEncryptedField(pseudonym)).toBe(false);
        // The same id under another type is another resource: another pseudonym.
        const [other] = await handler([deletionInput(validDeletion('Condition', String(resource.id)))]);
        expect((other?.value as Record<string, unknown>).logicalId).not.toBe(pseudonym);
      });

      it('quarantines a deletion of a type not served, with its logical id in clear, or under a key the ring lacks', async () => {
        const { handler, lines } = await setup();
        const stranger = createKeyring([['k9', Buffer.alloc(32, 9)]]);
        const outputs = await handler([
          deletionInput(validDeletion('Claim', 'c-1')),
          deletionInput(validDeletion('Observation', 'obs-1', { logicalId: 'obs-in-clear-77' })),
          deletionInput(
            validDeletion('Observation', 'obs-2', { logicalId: encryptField(stranger, 'obs-2') }),
          ),
        ]);
        expect(outputs.map((o) => [o.topic, (o.value as Record<string, unknown>).reason])).toEqual([
          ['ehr.quarantine', 'unknown_resource_type'],
          ['ehr.quarantine', 'decrypt_failed'],
          ['ehr.quarantine', 'decrypt_failed'],
        ]);
        expect(outputs[1]?.value).toMatchObject({
          fieldPath: 'Observation.logicalId',
          schemaSubject: 'ehr.valid.deletions-value',
          schemaVersion: 1,
          sourceTopic: 'ehr.valid.deletions',
          resourceType: 'Observation',
        });
        const clear = JSON.stringify(
          outputs.map((o) => ({ ...(o.value as Record<string, unknown>), payload: undefined })),
        );
        expect(clear).not.toContain('obs-in-clear-77');
        expect(lines.join('')).not.toContain('obs-in-clear-77');
      });

      it('turns a clean deletion its schema refuses into a quarantine record naming the clean deletions subject', async () => {
        const { handler, onQuarantine } = await setup();
        const [out] = await handler([deletionInput(validDeletion('Patient', 'pt-1'))]);
        const q = await onQuarantine(
          out as Output,
          new PipelineError('SCHEMA_MISMATCH', 'value does not match', { context: { version: 2 } }),
        );
        expect(q.value).toMatchObject({
          reason: 'schema_mismatch',
          schemaSubject: 'ehr.clean.deletions-value',
          schemaVersion: 2,
          recordId: 'del-Patient-pt-1',
        });
      });
    });
  },
);

describe('redact handler on worker threads', () => {
  /** A mixed chunk: each person's Observation before and after their Patient, across 12 people. */
  function mixedChunk(): InputRecord[] {
    const batch: InputRecord[] = [];
    for (const p of people(12, 'site-w', 'w')) {
      for (const type of ['Observation', 'Patient', 'Condition', 'Observation'] as const) {
        const { encrypted } = validRecord(type, resourceOf(type, p, batch.length), p.sourceId, ring);
        batch.push(input(type, encrypted, keyOf(PSEUDONYM_KEY, p)));
      }
    }
    return batch;
  }

  it('gives the outputs of the inline path, in input order', async () => {
    const batch = mixedChunk();
    workerThreads = 0;
    const inline = await (await setup()).handler(batch);
    workerThreads = 2;
    const onWorkers = await (await setup()).handler(batch);
    expect(onWorkers.map((o) => o.key)).toEqual(batch.map((r) => r.key));
    // Same clean values in the same order: the directory steps were taken in record order, so an
    // Observation before its Patient is withheld and one after it is scrubbed, as inline.
    expect(onWorkers).toEqual(inline);
    expect(sharedPools.get(true)?.stats().completed).toBeGreaterThan(0);
  });

  it('fails the whole chunk with WORKER_FAILED when a worker fails, returning nothing of it', async () => {
    const { registry, add } = fakeRegistry();
    add('ehr.valid.Patient-value', contractJson('Patient'));
    add('ehr.valid.deletions-value', pipelineSchemaJson('deletion.avsc'));
    const plan = await planCleanSchemas(registry, {
      types: ['Patient'],
      topics,
      policy: loadPolicy('safe-harbor'),
    });
    // Workers whose policy cannot compile: every task fails inside the worker.
    const broken = createDeidWorkers({
      threads: 2,
      policy: { contracts: null } as unknown as Policy,
      contracts: [],
      pseudonymKey: PSEUDONYM_KEY,
      directory: true,
    });
    pools.push(broken);
    const { handler } = createRedactHandler({
      plan,
      topics,
      deidentifier: createDeidentifier({ policy: plan.policy, pseudonymKey: PSEUDONYM_KEY }),
      decryptors: new Map([['Patient', createDecryptor(contractOfType('Patient'), ring)]]),
      deletions: await deletionsOf(registry, plan),
      ring,
      logger: createLogger({ name: 'redactor-test', level: 'silent' }),
      workers: broken,
    });
    const [person] = people(1, 'site-x', 'x');
    const { encrypted } = validRecord('Patient', resourceOf('Patient', person!, 1), person!.sourceId, ring);
    const err = await handler([input('Patient', encrypted, 'k')]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PipelineError);
    expect((err as PipelineError).code).toBe('WORKER_FAILED');
    expect((err as PipelineError).retryable).toBe(true);
    expect(JSON.stringify({ message: (err as Error).message, ...(err as object) })).not.toContain(
      person!.family,
    );
  });
});
