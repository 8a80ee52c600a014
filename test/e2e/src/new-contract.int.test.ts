/**
 * A resource type the repository has no contract for (NutritionOrder) runs through the real
 * validator, redactor and loader with nothing but its contract: registered under this run's
 * subjects, named in the services' type lists, and fed as raw envelopes (the extractor only asks
 * sources for the types of the generated manifest). No code knows the type: the mapping comes
 * from the R4 element model, the clean schema from the contract and the policy, the table from the
 * clean schema.
 */
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Admin } from '@ehrflow/kafka';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalText,
  createCodec,
  createRegistry,
  type RawEnvelope,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import { encryptPayload, parseKeyring } from '@ehrflow/phi';
import {
  createScratch,
  loadOrCreateSecrets,
  type Scratch,
  type ServiceHandle,
  type ServiceName,
  startPipelineServices,
} from '@ehrflow/pipeline-tools';
import { NEW_TYPE, newContractJson } from './new-contract-fixture.ts';
import { cleanUpRun, runNames } from './run-fixture.ts';
import { REPO_ROOT, stackEnv, waitFor } from '@ehrflow/testing';

const run = promisify(execFile);
const RECORDS = 6;
const { runId, topics, groups, schemas, directoryPrefix } = runNames('newc');
const validTopic = `${topics.validPrefix}${NEW_TYPE}`;
const cleanTopic = `${topics.cleanPrefix}${NEW_TYPE}`;
/** The policy's Patient rules need the Patient contract beside the new one. */
const TYPES = `Patient,${NEW_TYPE}`;
const sourceId = `e2e-newc-${runId}`;

function resource(i: number): Record<string, unknown> {
  return {
    resourceType: NEW_TYPE,
    id: `no-${i}`,
    meta: { versionId: '1', lastUpdated: '2024-03-01T10:00:00Z' },
    status: i % 2 === 0 ? 'active' : 'completed',
    patient: { reference: `Patient/pat-${i}` },
    dateTime: '2024-03-01T09:00:00Z',
    oralDiet: { type: [{ coding: [{ system: 'http://snomed.info/sct', code: '160670007' }] }] },
  };
}

describe(`a type added by its contract alone (${NEW_TYPE}) through the real services`, () => {
  let env: NodeJS.ProcessEnv;
  let workDir: string;
  let admin: Admin | undefined;
  let registry: SchemaRegistry | undefined;
  let scratch: Scratch | undefined;
  let pool: pg.Pool | undefined;
  let services = new Map<ServiceName, ServiceHandle>();
  let rows: {
    status: string;
    patient_ref: string;
    oral_diet_type_codes: string[];
    date_time: string | null;
  }[] = [];

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), `ehrflow-e2e-newc-${runId}-`));
    const secrets = await loadOrCreateSecrets(join(workDir, 'secrets.env'));
    env = { ...stackEnv(), ...secrets, EHRFLOW_MODE: 'development', LOG_LEVEL: 'info' };
    const kafka = new Kafka({
      brokers: (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
      clientId: `e2e-newc-${runId}`,
      logLevel: logLevel.NOTHING,
    });
    admin = kafka.admin();
    await admin.connect();
    registry = createRegistry({ url: env.SCHEMA_REGISTRY_URL ?? '' });
    scratch = createScratch(admin, registry);
    pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });

    // This run's topics and subjects: the pipeline records, and the new type's contract.
    await scratch.createTopics(
      [
        topics.raw,
        topics.quarantine,
        validTopic,
        cleanTopic,
        `${topics.validPrefix}Patient`,
        `${topics.cleanPrefix}Patient`,
        topics.validDeletions,
        topics.cleanDeletions,
      ],
      1,
    );
    await scratch.createTopics([topics.drift, topics.jobs], 1);
    await scratch.registerValueSchema([topics.raw], 'pipeline/raw-envelope.avsc');
    await scratch.registerValueSchema([topics.quarantine], 'pipeline/quarantine-record.avsc');
    await scratch.registerValueSchema([topics.drift], 'pipeline/drift-event.avsc');
    await scratch.registerValueSchema([topics.jobs], 'pipeline/job-event.avsc');
    await scratch.registerValueSchema([`${topics.validPrefix}Patient`], 'fhir/Patient.avsc');
    scratch.subjects.push(`${topics.cleanPrefix}Patient-value`);
    scratch.subjects.push(
      `${validTopic}-value`,
      `${cleanTopic}-value`,
      `${topics.validDeletions}-value`,
      `${topics.cleanDeletions}-value`,
    );
    await registry.register(`${validTopic}-value`, canonicalText(newContractJson()));
    const types = { REDACTOR_RESOURCE_TYPES: TYPES };
    await run(
      process.execPath,
      [
        join(REPO_ROOT, 'services', 'redactor', 'src', 'cli.ts'),
        'register-schemas',
        '--types',
        TYPES,
        '--valid-prefix',
        topics.validPrefix,
        '--clean-prefix',
        topics.cleanPrefix,
      ],
      { env: { ...env, ...types }, timeout: 60_000 },
    );

    services = await startPipelineServices(
      {
        env,
        topics,
        sourcesFile: join(workDir, 'no-sources.json'),
        logDir: join(workDir, 'logs'),
        extractorDbSchema: schemas.extractor,
        loaderDbSchema: schemas.loader,
        groups,
        extraEnv: {
          validator: { VALIDATOR_RESOURCE_TYPES: TYPES },
          redactor: { ...types, REDACTOR_DIRECTORY_KEY_PREFIX: directoryPrefix },
          loader: { LOADER_RESOURCE_TYPES: TYPES },
        },
      },
      ['loader', 'redactor', 'validator'],
    );

    // Raw envelopes as the extractor writes them: the resource encrypted, PHI-free metadata.
    const ring = parseKeyring(secrets.PHI_KEYRING);
    const codec = createCodec(registry);
    const producer = kafka.producer();
    await producer.connect();
    const messages = [];
    for (let i = 0; i < RECORDS; i++) {
      const json = Buffer.from(JSON.stringify(resource(i)));
      const envelope: RawEnvelope = {
        recordId: createHash('sha256')
          .update([sourceId, NEW_TYPE, `no-${i}`, '1'].join('\u0000'))
          .digest('hex')
          .slice(0, 32),
        jobId: `job-${runId}`,
        sourceId,
        resourceType: NEW_TYPE,
        kind: 'UPSERT',
        format: 'FHIR_JSON',
        payload: encryptPayload(ring, json),
        keyId: ring.activeKid,
        sourceLocator: `file 1 line ${i + 1}`,
        extractedAt: Date.now(),
        sizeBytes: json.length,
      };
      messages.push({ key: envelope.recordId, value: await codec.encode(`${topics.raw}-value`, envelope) });
    }
    await producer.send({ topic: topics.raw, messages });
    await producer.disconnect();

    await waitFor(
      async () => {
        const dead = [...services.values()].find((s) => !s.child.running());
        if (dead !== undefined)
          throw new Error(`${dead.name} exited; see ${join(workDir, 'logs', `${dead.name}.log`)}`);
        try {
          const res = await (pool as pg.Pool).query<{ n: string }>(
            `select count(*) as n from "${schemas.loader}".nutrition_order where source_id = $1`,
            [sourceId],
          );
          return Number(res.rows[0]?.n ?? 0) >= RECORDS;
        } catch {
          return false; // the loader has not created its table yet
        }
      },
      { timeoutMs: 120_000, intervalMs: 500, what: `${RECORDS} ${NEW_TYPE} rows` },
    );
    rows = (
      await pool.query<(typeof rows)[number]>(
        `select status, patient_ref, oral_diet_type_codes, date_time from "${schemas.loader}".nutrition_order where source_id = $1 order by status`,
        [sourceId],
      )
    ).rows;
  }, 300_000);

  afterAll(async () => {
    await cleanUpRun({
      services,
      scratch,
      admin,
      groups,
      registry,
      pool,
      schemas,
      redis: env?.REDIS_URL,
      redisKeys: [`${directoryPrefix}*`],
      workDir,
    });
  }, 120_000);

  it('lands every record in a table of its own, typed from the contract and de-identified', () => {
    expect(rows).toHaveLength(RECORDS);
    expect(rows.map((r) => r.status)).toEqual([
      ...Array(RECORDS / 2).fill('active'),
      ...Array(RECORDS / 2).fill('completed'),
    ]);
    expect(
      rows.every((r) => r.oral_diet_type_codes.length === 1 && r.oral_diet_type_codes[0] === '160670007'),
    ).toBe(true);
    // The patient reference is pseudonymised and the date generalised under Safe Harbor.
    expect(rows.some((r) => r.patient_ref.includes('pat-'))).toBe(false);
    expect(
      rows.every(
        (r) => r.date_time !== null && r.date_time.startsWith('2024') && !r.date_time.includes('09:00'),
      ),
    ).toBe(true);
  });
});
