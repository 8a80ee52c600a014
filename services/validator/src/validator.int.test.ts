import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  canonicalText,
  type DriftEvent,
  type QuarantineRecord,
  type RawEnvelope,
  type SchemaRegistry,
  type Codec,
} from '@ehrflow/contracts';
import {
  readRange,
  createKafka,
  createProducer,
  type KafkaClient,
  type RecordProducer,
  type Admin,
} from '@ehrflow/kafka';
import { createLogger } from '@ehrflow/logging';
import { createKeyring, decryptField, decryptRecord, isEncryptedField, type Keyring } from '@ehrflow/phi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForValue } from '@ehrflow/testing';
import type { Alert } from './alerts/alert.ts';
import { loadValidatorConfig } from './config.ts';
import { replay } from './replay.ts';
import { buildValidator, startValidator, type RunningValidator } from './service.ts';
import {
  CANARY,
  contractJson,
  deleteEnvelope,
  patient,
  rawEnvelope,
  withOptionalField,
} from './testing/fixtures.ts';
import {
  BROKERS,
  readValues,
  registerTestSubjects,
  testEnv,
  testRegistry,
  testTopics,
} from './testing/stack.ts';

const topics = testTopics(['Patient']);
const keySpec = `k1:${Buffer.alloc(32, 7).toString('base64')}`;
const ring: Keyring = createKeyring([['k1', Buffer.alloc(32, 7)]]);
const dir = mkdtempSync(join(tmpdir(), 'validator-int-'));
const alertFile = join(dir, 'alerts.jsonl');
const logLines: string[] = [];
const logger = createLogger({
  name: 'validator-int',
  level: 'info',
  destination: { write: (line: string) => void logLines.push(line) },
});
const env = testEnv(topics, {
  PHI_KEYRING: keySpec,
  VALIDATOR_RESOURCE_TYPES: 'Patient',
  VALIDATOR_SCHEMA_REFRESH_MS: '300',
  VALIDATOR_MAX_PAYLOAD_BYTES: '16384',
  VALIDATOR_DRIFT_REPORT_MS: '1500',
  VALIDATOR_MAX_BATCH: '100',
  ALERT_FILE: alertFile,
  ALERT_GATHER_MS: '500',
});
const config = loadValidatorConfig(env);

let kafka: KafkaClient;
let admin: Admin;
let registry: SchemaRegistry;
let codec: Codec;
let producer: RecordProducer;
let validator: RunningValidator;
const patientSubject = `${topics.validPrefix}Patient-value`;

async function produceRaw(envelopes: readonly RawEnvelope[]): Promise<void> {
  await producer.send(
    topics.raw,
    envelopes.map((e) => ({ key: e.recordId, value: e })),
  );
}

const quarantine = () => readValues<QuarantineRecord>(kafka, codec, topics.quarantine);
const valid = () => readValues<Record<string, unknown>>(kafka, codec, `${topics.validPrefix}Patient`);
const drift = () => readValues<DriftEvent>(kafka, codec, topics.drift);
const alerts = (): Alert[] => {
  try {
    return readFileSync(alertFile, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Alert);
  } catch {
    return [];
  }
};

/** Quarantine records of the given record ids, once all of them are there. */
function quarantinedAll(ids: readonly string[], minReplay = 0): Promise<QuarantineRecord[]> {
  return waitForValue(
    async () => {
      const found = (await quarantine()).filter(
        (q) => ids.includes(q.recordId) && q.replayCount >= minReplay,
      );
      return new Set(found.map((q) => q.recordId)).size === ids.length ? found : undefined;
    },
    { what: `${ids.length} quarantine records`, timeoutMs: 60_000, intervalMs: 250 },
  );
}

function validAll(ids: readonly string[], accept: (r: Record<string, unknown>) => boolean = () => true) {
  return waitForValue(
    async () => {
      const found = (await valid()).filter((r) => ids.includes(r.recordId as string) && accept(r));
      return new Set(found.map((r) => r.recordId)).size === ids.length ? found : undefined;
    },
    { what: `${ids.length} valid records`, timeoutMs: 60_000, intervalMs: 250 },
  );
}

/** The clear (non-payload) part of quarantine records, drift events and alerts, plus logs. */
function clearHaystack(records: readonly QuarantineRecord[], events: readonly DriftEvent[]): string {
  return JSON.stringify([records.map((r) => ({ ...r, payload: undefined })), events, alerts(), logLines]);
}

beforeAll(async () => {
  kafka = createKafka({ brokers: BROKERS, clientId: `${topics.id}-test`, logger, mode: 'development' });
  admin = kafka.kafkajs.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.all.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
  });
  ({ registry, codec } = testRegistry());
  await registerTestSubjects(registry, topics, { Patient: contractJson('Patient') });
  producer = createProducer({ kafka, codec, logger });
  await producer.connect();
  validator = await startValidator({ config, logger, env });
  validator.done.catch(() => undefined);
});

afterAll(async () => {
  await validator?.stop();
  await producer?.disconnect();
  await admin?.deleteTopics({ topics: [...topics.all] }).catch(() => undefined);
  await admin?.deleteGroups([config.VALIDATOR_GROUP_ID]).catch(() => undefined);
  await admin?.disconnect();
  for (const subject of topics.subjects) await registry.deleteSubject(subject).catch(() => undefined);
  await registry?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('validator on the real stack', () => {
  it('quarantines every Patient after birthDate is renamed, reports drift and sends one alert', async () => {
    const sourceId = 'site-rename';
    const good = Array.from({ length: 5 }, (_, n) => rawEnvelope(ring, patient(n), { sourceId }));
    const renamed = Array.from({ length: 12 }, (_, n) => {
      const p = patient(100 + n, { name: [{ family: CANARY }], dateOfBirth: '1970-01-31' });
      delete p.birthDate;
      return rawEnvelope(ring, p, { sourceId });
    });
    await produceRaw([...good, ...renamed]);
    const renamedIds = renamed.map((e) => e.recordId);

    const records = await quarantinedAll(renamedIds);
    for (const q of records) {
      expect(q).toMatchObject({
        reason: 'missing_required',
        fieldPath: 'Patient.birthDate',
        schemaSubject: patientSubject,
        sourceTopic: topics.raw,
      });
    }
    const validRecords = await validAll(good.map((e) => e.recordId));
    expect((await valid()).filter((r) => renamedIds.includes(r.recordId as string))).toEqual([]);
    for (const r of validRecords) expect(isEncryptedField(r.birthDate)).toBe(true);

    const events = await waitForValue(
      async () => {
        const all = (await drift()).filter((e) => e.sourceId === sourceId);
        const missing = all.filter((e) => e.kind === 'missing_field' && e.fieldPath === 'Patient.birthDate');
        const unexpected = all.filter(
          (e) => e.kind === 'unexpected_field' && e.fieldPath === 'Patient.dateOfBirth',
        );
        // The periodic update brings the full count: every signal has been seen by then.
        return missing.some((e) => e.count === 12) && unexpected.length > 0 ? all : undefined;
      },
      { what: 'missing_field and unexpected_field drift events', timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(events.find((e) => e.kind === 'missing_field')?.firstOffset).toBe(String(good.length));

    const siteAlerts = await waitForValue(
      () => {
        const found = alerts().filter((a) => a.sourceId === sourceId);
        return Promise.resolve(found.length > 0 ? found : undefined);
      },
      { what: 'an alert', timeoutMs: 10_000, intervalMs: 250 },
    );
    expect(siteAlerts).toHaveLength(1);
    expect(siteAlerts[0]).toMatchObject({ resourceType: 'Patient', contract: patientSubject });
    expect(siteAlerts[0]?.signals.map((s) => s.fieldPath)).toEqual(
      expect.arrayContaining(['Patient.birthDate', 'Patient.dateOfBirth']),
    );
    expect(clearHaystack(records, events)).not.toContain('Zqxcanaryvalue');
  });

  it('quarantines bad input with the right reason and field path, and keeps going', async () => {
    const sourceId = 'site-bad';
    const cases = {
      type_mismatch: rawEnvelope(ring, patient(200, { birthDate: 19700131, name: [{ family: CANARY }] }), {
        sourceId,
      }),
      malformed: rawEnvelope(ring, Buffer.from(`{"resourceType":"Patient","id":"m1","name":"${CANARY}",}`), {
        sourceId,
      }),
      truncated: rawEnvelope(
        ring,
        Buffer.from(`{"resourceType":"Patient","id":"t1","name":[{"family":"${CANARY}`),
        { sourceId },
      ),
      oversized: rawEnvelope(ring, patient(201, { name: [{ family: CANARY.repeat(1000) }] }), { sourceId }),
      unknown: rawEnvelope(ring, { resourceType: 'Basic', id: 'b1', code: { text: CANARY } }, { sourceId }),
    };
    const after = rawEnvelope(ring, patient(202), { sourceId });
    await produceRaw([...Object.values(cases), after]);
    const records = await quarantinedAll(Object.values(cases).map((e) => e.recordId));
    const byId = (e: RawEnvelope) => records.find((q) => q.recordId === e.recordId);
    expect(byId(cases.type_mismatch)).toMatchObject({
      reason: 'type_mismatch',
      fieldPath: 'Patient.birthDate',
    });
    expect(byId(cases.malformed)).toMatchObject({ reason: 'parse_error', fieldPath: null });
    expect(byId(cases.malformed)?.detail).toMatch(/at byte \d+/);
    expect(byId(cases.truncated)).toMatchObject({ reason: 'parse_error' });
    expect(byId(cases.oversized)).toMatchObject({ reason: 'too_large' });
    expect(byId(cases.unknown)).toMatchObject({
      reason: 'no_contract',
      fieldPath: 'resourceType',
      resourceType: 'Basic',
    });
    await validAll([after.recordId]);
    const events = await waitForValue(
      async () => {
        const all = (await drift()).filter((e) => e.sourceId === sourceId);
        return all.some((e) => e.kind === 'type_changed') &&
          all.some((e) => e.kind === 'unknown_resource_type')
          ? all
          : undefined;
      },
      { what: 'type_changed and unknown_resource_type drift', timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(clearHaystack(records, events)).not.toContain('Zqxcanaryvalue');
  });

  it('turns DELETE envelopes into Deletions on the deletions topic and quarantines a malformed one', async () => {
    const sourceId = 'site-delete';
    const deletes = ['pat-del-1', 'pat-del-2', 'pat-del-3'].map((id) =>
      deleteEnvelope(ring, 'Patient', id, { sourceId }),
    );
    const malformed = deleteEnvelope(ring, 'Patient', 'pat-del-4', {
      sourceId,
      payload: { resourceType: 'Patient', id: 'pat-del-4', note: CANARY },
    });
    await produceRaw([...deletes, malformed]);
    const ids = deletes.map((e) => e.recordId);
    const found = await waitForValue(
      async () => {
        const out: { value: Record<string, unknown>; kind: string | undefined; key: string | undefined }[] =
          [];
        await readRange(kafka, topics.deletions, async (batch) => {
          for (const m of batch) {
            if (m.message.value === null) continue;
            const { value } = await codec.decode<Record<string, unknown>>(m.message.value);
            out.push({
              value,
              kind: m.message.headers?.['ehrflow-kind']?.toString(),
              key: m.message.key?.toString(),
            });
          }
        });
        const mine = out.filter((o) => ids.includes(o.value.recordId as string));
        return new Set(mine.map((o) => o.value.recordId)).size === ids.length ? mine : undefined;
      },
      { what: `${ids.length} deletions`, timeoutMs: 60_000, intervalMs: 250 },
    );
    for (const d of found) {
      expect(d.kind).toBe('DELETE');
      expect(d.key).toBe(d.value.recordId); // produceRaw keys by record id; the key is passed through
      expect(d.value).toMatchObject({ sourceId, resourceType: 'Patient', deleted: true, deidPolicy: null });
      expect(isEncryptedField(d.value.logicalId)).toBe(true);
    }
    expect(found.map((d) => decryptField(ring, d.value.logicalId as string)).sort()).toEqual([
      'pat-del-1',
      'pat-del-2',
      'pat-del-3',
    ]);
    const [q] = await quarantinedAll([malformed.recordId]);
    expect(q).toMatchObject({
      reason: 'contract_violation',
      schemaSubject: `${topics.deletions}-value`,
      sourceTopic: topics.raw,
    });
    expect(clearHaystack(q === undefined ? [] : [q], [])).not.toContain('Zqxcanaryvalue');
  });

  it('refuses to start when the deletions subject is not registered', async () => {
    // Another valid prefix whose Patient contract is registered, but not its deletions subject.
    const prefix = `${topics.id}.other.`;
    await registry.register(`${prefix}Patient-value`, canonicalText(contractJson('Patient')));
    topics.subjects.push(`${prefix}Patient-value`);
    const missing = loadValidatorConfig({ ...env, VALIDATOR_VALID_TOPIC_PREFIX: prefix });
    const err = await buildValidator({
      config: missing,
      logger,
      env,
      clientId: `${topics.id}-missing`,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SCHEMA_NOT_REGISTERED' });
    expect((err as Error).message).toContain(`${prefix}deletions-value`);
  });

  it('uses a newly registered optional field without a restart (steward workflow)', async () => {
    const v2 = withOptionalField(contractJson('Patient'), {
      name: 'maritalStatusText',
      fhirPath: 'maritalStatus.text',
      phi: 'none',
    });
    const { version } = await registry.register(patientSubject, canonicalText(v2));
    expect(version).toBe(2);
    // Within a refresh period the running validator maps with v2, without a restart.
    const mapped = await waitForValue(
      async () => {
        await produceRaw([
          rawEnvelope(
            ring,
            patient(Math.floor(Math.random() * 1e9), { maritalStatus: { text: 'married' } }),
            { sourceId: 'site-steward' },
          ),
        ]);
        const found = (await valid()).filter((r) => r.sourceId === 'site-steward' && r.contractVersion === 2);
        return found.length > 0 ? found : undefined;
      },
      { what: 'a record mapped with contract v2', timeoutMs: 30_000, intervalMs: 250 },
    );
    for (const r of mapped) expect(r.maritalStatusText).toBe('married');
  });

  it('replays quarantined records after a contract fix, keeping their record ids', async () => {
    const base = withOptionalField(contractJson('Patient'), {
      name: 'maritalStatusText',
      fhirPath: 'maritalStatus.text',
      phi: 'none',
    });
    await registry.register(patientSubject, canonicalText({ ...base, policy: 'strict' }));
    const sourceId = 'site-replay';
    // Until the validator sees the strict version, records pass; wait for one to be refused.
    const refused = await waitForValue(
      async () => {
        const e = rawEnvelope(ring, patient(Math.floor(Math.random() * 1e9), { favouriteColour: 'blue' }), {
          sourceId,
        });
        await produceRaw([e]);
        const found = (await quarantine()).filter(
          (q) => q.sourceId === sourceId && q.reason === 'contract_violation',
        );
        return found.length > 0 ? found : undefined;
      },
      { what: 'a record refused under the strict policy', timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(refused[0]?.fieldPath).toBe('Patient.favouriteColour');
    const ids = refused.map((q) => q.recordId);

    // The fix: a steward registers the contract lenient again.
    await registry.register(
      patientSubject,
      canonicalText({ ...base, policy: 'lenient', doc: `${String(base.doc)} Lenient again.` }),
    );
    const parts = await buildValidator({ config, logger, env, clientId: `${topics.id}-replay` });
    try {
      const result = await replay(parts, { kind: 'quarantine', reason: 'contract_violation' });
      expect(result.valid).toBeGreaterThanOrEqual(ids.length);
    } finally {
      await parts.monitor.stop();
      await parts.close();
    }
    const replayed = await validAll(ids, (r) => r.contractVersion === 4);
    expect(new Set(replayed.map((r) => r.recordId))).toEqual(new Set(ids));
    for (const r of replayed) expect(decryptRecord(ring, r).birthDate).toBe('1970-01-31');
  });

  it('loses nothing when the validator is stopped mid-stream and started again', async () => {
    const sourceId = 'site-restart';
    const batch = Array.from({ length: 400 }, (_, n) => rawEnvelope(ring, patient(1000 + n), { sourceId }));
    await produceRaw(batch);
    await waitForValue(() => Promise.resolve(validator.runner.stats().committed > 0 ? true : undefined), {
      what: 'some progress',
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    await validator.stop();
    validator = await startValidator({ config, logger, env });
    validator.done.catch(() => undefined);
    const records = await validAll(batch.map((e) => e.recordId));
    expect(new Set(records.map((r) => r.recordId)).size).toBe(batch.length);
  });
});
