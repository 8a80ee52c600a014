/**
 * The validator's HL7 v2 path against the real stack: a simulated ADT feed whose vendor upgrade
 * moves the birth date out of PID-7 part way through. Messages before the switch become valid
 * Patient records; every message after it is quarantined with `missing_required` at PID-7 and
 * its original HL7 payload; one drift event and one alert name the position, never a value.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Admin,
  createKafka,
  createProducer,
  type KafkaClient,
  type RecordProducer,
} from '@ehrflow/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Codec, DriftEvent, QuarantineRecord, RawEnvelope, SchemaRegistry } from '@ehrflow/contracts';
import { hl7RecordId } from '@ehrflow/hl7';
import { seededRandom, syntheticMessage } from '@ehrflow/hl7-sim';
import { createLogger } from '@ehrflow/logging';
import { createKeyring, encryptPayload, type Keyring } from '@ehrflow/phi';
import { waitForValue } from '@ehrflow/testing';
import type { Alert } from './alerts/alert.ts';
import { loadValidatorConfig } from './config.ts';
import { startValidator, type RunningValidator } from './service.ts';
import { contractJson } from './testing/fixtures.ts';
import {
  BROKERS,
  readValues,
  registerTestSubjects,
  testEnv,
  testRegistry,
  testTopics,
} from './testing/stack.ts';

const TYPES = ['Patient', 'Encounter', 'Condition', 'AllergyIntolerance'];
const topics = testTopics(TYPES);
const ring: Keyring = createKeyring([['k1', Buffer.alloc(32, 5)]]);
const dir = mkdtempSync(join(tmpdir(), 'validator-hl7-'));
const alertFile = join(dir, 'alerts.jsonl');
const logLines: string[] = [];
const logger = createLogger({
  name: 'validator-hl7-int',
  level: 'info',
  destination: { write: (line: string) => void logLines.push(line) },
});
const env = testEnv(topics, {
  PHI_KEYRING: `k1:${Buffer.alloc(32, 5).toString('base64')}`,
  VALIDATOR_RESOURCE_TYPES: TYPES.join(','),
  VALIDATOR_DRIFT_REPORT_MS: '1500',
  ALERT_FILE: alertFile,
  ALERT_GATHER_MS: '500',
});
const config = loadValidatorConfig(env);
const sourceId = `mllp-${topics.id}`;

let kafka: KafkaClient;
let admin: Admin;
let registry: SchemaRegistry;
let codec: Codec;
let producer: RecordProducer;
let validator: RunningValidator;

beforeAll(async () => {
  kafka = createKafka({ brokers: BROKERS, clientId: `${topics.id}-test`, logger, mode: 'development' });
  admin = kafka.kafkajs.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: topics.all.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })),
  });
  ({ registry, codec } = testRegistry());
  await registerTestSubjects(registry, topics, Object.fromEntries(TYPES.map((t) => [t, contractJson(t)])));
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
});

describe('validator HL7 v2 path (integration)', () => {
  it('a drift switch mid-feed: the messages after it are quarantined at PID-7, those before load, one alert', async () => {
    const random = seededRandom(42);
    const envelopes: RawEnvelope[] = Array.from({ length: 30 }, (_, i) => {
      const controlId = `ADT-${i}`;
      const text = syntheticMessage(random, {
        controlId,
        type: 'ADT^A08',
        sendingApplication: 'NORTHADT',
        ...(i >= 15 ? { drift: 'birthdate-moved' as const } : {}),
      });
      const bytes = Buffer.from(text, 'utf8');
      return {
        recordId: hl7RecordId(sourceId, {
          sendingApplication: 'NORTHADT',
          sendingFacility: 'SIMHOSP',
          controlId,
        }),
        jobId: `mllp:${sourceId}`,
        sourceId,
        resourceType: 'ADT^A08',
        kind: 'UPSERT',
        format: 'HL7V2',
        payload: encryptPayload(ring, bytes),
        keyId: ring.activeKid,
        sourceLocator: `mllp test control ${controlId}`,
        extractedAt: Date.now(),
        sizeBytes: bytes.length,
      };
    });
    await producer.send(
      topics.raw,
      envelopes.map((e) => ({ key: e.recordId, value: e })),
    );
    const before = new Set(envelopes.slice(0, 15).map((e) => e.recordId));
    const after = new Set(envelopes.slice(15).map((e) => e.recordId));

    const quarantined = await waitForValue(
      async () => {
        const found = (await readValues<QuarantineRecord>(kafka, codec, topics.quarantine)).filter((q) =>
          after.has(q.recordId),
        );
        return found.length >= after.size ? found : undefined;
      },
      { what: '15 quarantined messages', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(new Set(quarantined.map((q) => `${q.reason}:${q.fieldPath}:${q.resourceType}`))).toEqual(
      new Set(['missing_required:PID-7:HL7v2:ADT_A08']),
    );
    const patients = await waitForValue(
      async () => {
        const found = await readValues<Record<string, unknown>>(kafka, codec, `${topics.validPrefix}Patient`);
        return found.length >= before.size ? found : undefined;
      },
      { what: '15 patients', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(patients).toHaveLength(15);
    expect(patients.every((p) => p.sourceId === sourceId)).toBe(true);

    const events = await waitForValue(
      async () => {
        const found = (await readValues<DriftEvent>(kafka, codec, topics.drift)).filter(
          (d) => d.fieldPath === 'PID-7',
        );
        return found.length > 0 ? found : undefined;
      },
      { what: 'a drift event at PID-7', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(new Set(events.map((e) => e.eventId)).size).toBe(1);
    // Drift is per feed: source, sending application, facility (MSH-4) and message type.
    const feed = `${sourceId}:NORTHADT:SIMHOSP:ADT_A08`;
    expect(events[0]).toMatchObject({ kind: 'missing_field', sourceId: feed, resourceType: 'Patient' });
    const alerts = await waitForValue(
      () => {
        try {
          const found = readFileSync(alertFile, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Alert);
          return Promise.resolve(found.length > 0 ? found : undefined);
        } catch {
          return Promise.resolve(undefined);
        }
      },
      { what: 'an alert', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(alerts.filter((a) => a.sourceId === feed)).toHaveLength(1);
    const haystack = JSON.stringify([
      quarantined.map((q) => ({ ...q, payload: undefined })),
      events,
      alerts,
      logLines,
    ]);
    expect(haystack).not.toMatch(
      /Quillfeather|Brambleton|Osterholt|Vantrelli|Mirowska|Castellane|Thornbury|Okonkwo/,
    );
  });
});
