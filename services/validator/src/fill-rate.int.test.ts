import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  contractOf,
  loadBaselines,
  type Codec,
  type DriftEvent,
  type QuarantineRecord,
  type RawEnvelope,
  type SchemaRegistry,
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
import { createKeyring, decryptRecord, type Keyring } from '@ehrflow/phi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForValue } from '@ehrflow/testing';
import type { Alert } from './alerts/alert.ts';
import { loadValidatorConfig } from './config.ts';
import { startValidator, type RunningValidator } from './service.ts';
import { contractJson, patient, rawEnvelope } from './testing/fixtures.ts';
import {
  BROKERS,
  readValues,
  registerTestSubjects,
  testEnv,
  testRegistry,
  testTopics,
} from './testing/stack.ts';
import { learnBaseline } from './baseline.ts';
import { coverageOf } from './coverage.ts';

/**
 * "Fill-rate drop: a populated optional field going to empty raises `fill_rate_drop`", on the real
 * stack: a source sends Patients with an e-mail address for a few fill-rate windows (the
 * baseline), then without one. The validator must keep the records valid and report the drop
 * once, as a drift event and one alert, without echoing the address anywhere.
 */

const WINDOW = 10;
const BASELINE_WINDOWS = 3;
const FIELD = 'telecomEmail';
const SOURCE = 'site-fill';
/** A synthetic e-mail address: a canary that must never leave the record in clear. */
const EMAIL_CANARY = 'zqxcanaryvalue.wplk@example.invalid';

const topics = testTopics(['Patient']);
const keySpec = `k1:${Buffer.alloc(32, 9).toString('base64')}`;
const ring: Keyring = createKeyring([['k1', Buffer.alloc(32, 9)]]);
const dir = mkdtempSync(join(tmpdir(), 'validator-fill-rate-int-'));
const alertFile = join(dir, 'alerts.jsonl');
const logLines: string[] = [];
const logger = createLogger({
  name: 'validator-fill-rate-int',
  level: 'debug',
  destination: { write: (line: string) => void logLines.push(line) },
});
const contractField = (
  contractJson('Patient').fields as { name: string; fillRate?: number; required?: boolean }[]
).find((f) => f.name === FIELD);
// The source's accepted baseline (what `npm run schemas -- baseline` proposes and a steward
// commits): the e-mail is expected at the contract's rate for this source.
const baselinesDir = join(dir, 'baselines');
mkdirSync(baselinesDir);
writeFileSync(
  join(baselinesDir, `${SOURCE}.json`),
  JSON.stringify({
    source: SOURCE,
    learnedAt: '2026-01-01T00:00:00.000Z',
    records: { Patient: 1000 },
    fillRates: { Patient: { [FIELD]: contractField?.fillRate ?? 0 } },
  }),
);
const env = testEnv(topics, {
  PHI_KEYRING: keySpec,
  VALIDATOR_BASELINES_DIR: baselinesDir,
  VALIDATOR_RESOURCE_TYPES: 'Patient',
  VALIDATOR_FILL_RATE_WINDOW: String(WINDOW),
  VALIDATOR_DRIFT_REPORT_MS: '1000',
  VALIDATOR_MAX_BATCH: '100',
  ALERT_FILE: alertFile,
  ALERT_GATHER_MS: '300',
});
const config = loadValidatorConfig(env);
const patientSubject = `${topics.validPrefix}Patient-value`;

let kafka: KafkaClient;
let admin: Admin;
let registry: SchemaRegistry;
let codec: Codec;
let producer: RecordProducer;
let validator: RunningValidator;

const drift = () => readValues<DriftEvent>(kafka, codec, topics.drift);
const valid = () => readValues<Record<string, unknown>>(kafka, codec, `${topics.validPrefix}Patient`);
const quarantine = () => readValues<QuarantineRecord>(kafka, codec, topics.quarantine);
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
const fillRateDrops = async () =>
  (await drift()).filter((e) => e.kind === 'fill_rate_drop' && e.sourceId === SOURCE);

/**
 * A Patient that fills every optional field whose contract `fillRate` could flag it, so the only
 * fill-rate change in this test is the e-mail address (`null`: no e-mail, the phone stays).
 */
function fullPatient(n: number, email: string | null): Record<string, unknown> {
  const base = patient(n);
  const phone = { system: 'phone', value: '555-0100' };
  return patient(n, {
    identifier: [
      ...(base.identifier as unknown[]),
      { system: 'http://hl7.org/fhir/sid/us-ssn', value: `999-00-${String(n).padStart(4, '0')}` },
    ],
    telecom: email === null ? [phone] : [phone, { system: 'email', value: email }],
    maritalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus', code: 'M' }],
    },
    communication: [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] } }],
    managingOrganization: { reference: 'Organization/syn-org-1' },
  });
}

let nextPatient = 0;
function envelopes(count: number, email: string | null): RawEnvelope[] {
  return Array.from({ length: count }, () =>
    rawEnvelope(ring, fullPatient(nextPatient++, email), { sourceId: SOURCE }),
  );
}

async function produceRaw(batch: readonly RawEnvelope[]): Promise<void> {
  await producer.send(
    topics.raw,
    batch.map((e) => ({ key: e.recordId, value: e })),
  );
}

let barriers = 0;
/**
 * Waits until every drift the validator has seen so far is on the drift topic. A record from a
 * fresh source with an unexpected element goes onto the raw topic (one partition) behind the
 * records before it; the validator handles records in order and emits new drifts in the order it
 * saw them, so once the barrier's own drift event is on the drift topic (one partition), so is
 * the first event of every drift raised by an earlier record.
 */
async function barrier(): Promise<void> {
  barriers += 1;
  const sourceId = `site-barrier-${barriers}`;
  await produceRaw([rawEnvelope(ring, patient(900_000 + barriers, { barrierMarker: true }), { sourceId })]);
  await waitForValue(
    async () =>
      (await drift()).some((e) => e.sourceId === sourceId && e.kind === 'unexpected_field')
        ? true
        : undefined,
    { what: `drift barrier ${barriers}`, timeoutMs: 30_000, intervalMs: 250 },
  );
}

/** Offsets of this run's raw records, by record id (the raw topic is this run's own). */
async function rawOffsets(): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  await readRange(kafka, topics.raw, (batch) => {
    for (const m of batch) if (m.message.key) out.set(m.message.key.toString(), BigInt(m.message.offset));
    return Promise.resolve();
  });
  return out;
}

function validAll(ids: readonly string[]): Promise<Record<string, unknown>[]> {
  return waitForValue(
    async () => {
      const found = (await valid()).filter((r) => ids.includes(r.recordId as string));
      return new Set(found.map((r) => r.recordId)).size === ids.length ? found : undefined;
    },
    { what: `${ids.length} valid records`, timeoutMs: 60_000, intervalMs: 250 },
  );
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

describe('fill-rate drift on the real stack', () => {
  it('raises one fill_rate_drop when a populated optional field goes empty, keeps the records valid and leaks no value', async () => {
    // The field under test is optional and the contract expects it on some records.
    expect(contractField).toMatchObject({ required: false });
    const expected = contractField?.fillRate;
    expect(expected).toBeGreaterThan(0);

    // Baseline: every record has the e-mail address, for several windows. No fill-rate drop at all.
    const populated = envelopes(BASELINE_WINDOWS * WINDOW, EMAIL_CANARY);
    await produceRaw(populated);
    await barrier();
    await validAll(populated.map((e) => e.recordId));
    expect(await fillRateDrops()).toEqual([]);

    // First empty window: the drop is reported against the contract rate and the baseline.
    const empty1 = envelopes(WINDOW, null);
    await produceRaw(empty1);
    const [first] = await waitForValue(
      async () => {
        const found = await fillRateDrops();
        return found.length > 0 ? found : undefined;
      },
      { what: 'a fill_rate_drop event', timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(first).toMatchObject({
      kind: 'fill_rate_drop',
      sourceId: SOURCE,
      resourceType: 'Patient',
      schemaSubject: patientSubject,
      schemaVersion: 1,
      fieldPath: FIELD,
      count: WINDOW,
      observedFillRate: 0,
      expectedFillRate: expected,
      windowSize: WINDOW,
    });
    // Every baseline window had the field on every record.
    expect(first?.baselineFillRate).toBeCloseTo(1, 9);
    // Raised by a record of the empty stretch, never while the field was populated.
    const offsets = await rawOffsets();
    const firstOffset = BigInt(first?.firstOffset ?? '-1');
    expect(firstOffset).toBeGreaterThanOrEqual(offsets.get(empty1[0]?.recordId ?? '') ?? -1n);
    expect(firstOffset).toBeLessThanOrEqual(offsets.get(empty1[WINDOW - 1]?.recordId ?? '') ?? -1n);

    // Second empty window: the same drift, its count updated (an upsert under one event id).
    const empty2 = envelopes(WINDOW, null);
    await produceRaw(empty2);
    const update = await waitForValue(
      async () => (await fillRateDrops()).find((e) => e.count === 2 * WINDOW),
      { what: 'the updated fill_rate_drop event', timeoutMs: 30_000, intervalMs: 250 },
    );
    expect(update).toMatchObject({
      eventId: first?.eventId,
      fieldPath: FIELD,
      observedFillRate: 0,
      expectedFillRate: expected,
      windowSize: WINDOW,
    });
    // The empty window joined the baseline, which is learning the drop but still above it.
    expect(update.baselineFillRate).toBeGreaterThan(0);
    expect(update.baselineFillRate).toBeLessThan(first?.baselineFillRate ?? 0);

    // Exactly these two events, and no other drift for the source.
    await barrier();
    const sourceDrift = (await drift()).filter((e) => e.sourceId === SOURCE);
    expect(sourceDrift.map((e) => [e.kind, e.fieldPath, e.eventId, e.count])).toEqual([
      ['fill_rate_drop', FIELD, first?.eventId, WINDOW],
      ['fill_rate_drop', FIELD, first?.eventId, 2 * WINDOW],
    ]);

    // A fill-rate drop does not quarantine: every record is valid, the address kept encrypted.
    const all = [...populated, ...empty1, ...empty2];
    const records = await validAll(all.map((e) => e.recordId));
    expect((await quarantine()).filter((q) => q.sourceId === SOURCE)).toEqual([]);
    const emptyIds = new Set([...empty1, ...empty2].map((e) => e.recordId));
    for (const r of records) {
      if (emptyIds.has(r.recordId as string)) expect(r[FIELD]).toBeNull();
      else expect(decryptRecord(ring, r)[FIELD]).toBe(EMAIL_CANARY);
    }

    // One alert for the source, naming the field. Stopping flushes every pending alert and event.
    await waitForValue(
      () => Promise.resolve(alerts().some((a) => a.sourceId === SOURCE) ? true : undefined),
      { what: 'an alert', timeoutMs: 10_000, intervalMs: 250 },
    );
    await validator.stop();
    const sourceAlerts = alerts().filter((a) => a.sourceId === SOURCE);
    expect(sourceAlerts).toHaveLength(1);
    expect(sourceAlerts[0]).toMatchObject({
      resourceType: 'Patient',
      contract: patientSubject,
      contractVersion: 1,
    });
    expect(sourceAlerts[0]?.signals.map((s) => [s.kind, s.fieldPath])).toEqual([['fill_rate_drop', FIELD]]);

    // No record value in the drift events, the alerts or the validator's logs.
    const events = await drift();
    expect(events.filter((e) => e.sourceId === SOURCE)).toHaveLength(2);
    // The logs were captured: the validator logged the drift (ids and field path only).
    expect(
      logLines.some((l) => l.includes('drift detected') && l.includes(FIELD) && l.includes(SOURCE)),
    ).toBe(true);
    const haystack = JSON.stringify([events, alerts(), logLines]).toLowerCase();
    expect(haystack).not.toContain('zqxcanaryvalue');
    expect(haystack).not.toContain('example.invalid');
  });

  it("learns the source's baseline from its valid records: presence only, this source only", async () => {
    // The previous test left 3 populated and 2 empty windows of this source on the valid topic,
    // and a record of each barrier source.
    const { baseline, rates } = await learnBaseline(
      { kafka, codec },
      { source: SOURCE, resourceTypes: ['Patient'], validTopicPrefix: topics.validPrefix, now: () => 0 },
    );
    expect(baseline.records).toEqual({ Patient: 5 * WINDOW });
    expect(baseline.fillRates.Patient?.[FIELD]).toBe(0.6);
    expect(baseline.fillRates.Patient?.nameFamily).toBe(1);
    expect(rates.find((r) => r.field === FIELD)).toEqual({
      resourceType: 'Patient',
      field: FIELD,
      learned: 0.6,
      contract: contractField?.fillRate ?? null,
    });
    // The proposal is an accepted baseline once committed: it loads as one.
    mkdirSync(join(dir, 'learned'));
    writeFileSync(join(dir, 'learned', `${SOURCE}.json`), JSON.stringify(baseline));
    expect(loadBaselines(join(dir, 'learned')).ratesFor(SOURCE, 'Patient')?.[FIELD]).toBe(0.6);
    expect(JSON.stringify(baseline).toLowerCase()).not.toContain('example.invalid');
  });

  it('reports the elements the source sends that no contract carries: paths and counts, no value', async () => {
    const contracts = new Map([['Patient', contractOf(contractJson('Patient'), 'Patient')]]);
    const report = await coverageOf(
      { kafka, codec, keyring: ring, contracts },
      { source: SOURCE, rawTopic: topics.raw },
    );
    expect(report.types.map((t) => [t.resourceType, t.records, t.contracted])).toEqual([
      ['Patient', 5 * WINDOW, true],
    ]);
    const uncovered = new Map(report.types[0]?.uncovered.map((u) => [u.path, u.records]));
    // Sent by every record, carried by no field: listed with its count.
    expect(uncovered.get('name.use')).toBe(5 * WINDOW);
    // Carried by a field, or dropped by design (the contract's "dropped"): not listed.
    expect(uncovered.has('name.family')).toBe(false);
    expect(uncovered.has('birthDate')).toBe(false);
    expect([...uncovered.keys()].some((p) => p.startsWith('meta.source'))).toBe(false);
    const text = JSON.stringify(report).toLowerCase();
    for (const value of ['synfamily', 'example.invalid', 'syn-mrn', '555-0100'])
      expect(text).not.toContain(value);
  });
});
