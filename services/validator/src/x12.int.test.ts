/**
 * The validator's X12 path against the real stack: a sender's 837P sets, as the billing receiver
 * writes them (one encrypted transaction set per raw envelope), whose practice-management upgrade
 * leaves CLM02 (the claim amount) empty from the sixth set on. Sets before the switch become valid
 * Claim records; every set after it is quarantined whole with `missing_required` at CLM-02 and its
 * original X12 bytes; drift events name the position, never a value. 835 sets become
 * ExplanationOfBenefit records.
 */
import { createHash } from 'node:crypto';
import {
  type Admin,
  createKafka,
  createProducer,
  type KafkaClient,
  type RecordProducer,
} from '@ehrflow/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Codec, DriftEvent, QuarantineRecord, RawEnvelope, SchemaRegistry } from '@ehrflow/contracts';
import { createLogger } from '@ehrflow/logging';
import { createKeyring, encryptPayload, type Keyring } from '@ehrflow/phi';
import { waitForValue } from '@ehrflow/testing';
import { X12EnvelopeChecker } from '@ehrflow/x12';
import { syntheticInterchange, type InterchangeOptions } from '@ehrflow/x12-sim';
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

const TYPES = ['Claim', 'ExplanationOfBenefit'];
const topics = testTopics(TYPES);
const ring: Keyring = createKeyring([['k1', Buffer.alloc(32, 6)]]);
const logLines: string[] = [];
const logger = createLogger({
  name: 'validator-x12-int',
  level: 'info',
  destination: { write: (line: string) => void logLines.push(line) },
});
const env = testEnv(topics, {
  PHI_KEYRING: `k1:${Buffer.alloc(32, 6).toString('base64')}`,
  VALIDATOR_RESOURCE_TYPES: TYPES.join(','),
  VALIDATOR_DRIFT_REPORT_MS: '1500',
});
const config = loadValidatorConfig(env);
const sourceId = `x12-${topics.id}`;

let kafka: KafkaClient;
let admin: Admin;
let registry: SchemaRegistry;
let codec: Codec;
let producer: RecordProducer;
let validator: RunningValidator;

/** Raw envelopes as the billing receiver writes them: ISA + GS + ST…SE, encrypted, format X12. */
function envelopesOf(options: InterchangeOptions, kind: string) {
  const file = syntheticInterchange(options);
  const checker = new X12EnvelopeChecker();
  checker.push(file.bytes);
  const check = checker.finish();
  const isa = file.bytes.subarray(check.header?.start, check.header?.end);
  return check.sets.map((s): RawEnvelope => {
    const gs = check.groups[s.groupIndex]?.header;
    const bytes = Buffer.concat([
      isa,
      file.bytes.subarray(gs?.start, gs?.end),
      file.bytes.subarray(s.start, s.end),
    ]);
    const recordId = createHash('sha256')
      .update(`${sourceId}/${options.controlNumber}/${s.controlNumber}`)
      .digest('hex')
      .slice(0, 32);
    return {
      recordId,
      jobId: `x12:${sourceId}:test`,
      sourceId,
      resourceType: kind,
      kind: 'UPSERT',
      format: 'X12',
      payload: encryptPayload(ring, bytes),
      keyId: ring.activeKid,
      sourceLocator: `file test ST02 ${s.controlNumber}`,
      extractedAt: Date.now(),
      sizeBytes: bytes.length,
    };
  });
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

describe('validator X12 path (integration)', () => {
  it('837P sets become Claims until a drift switch quarantines the rest at CLM-02; 835 sets become ExplanationOfBenefit', async () => {
    const claims = envelopesOf(
      {
        seed: 21,
        controlNumber: 8001,
        groups: [{ kind: '837P', sets: 10, claimsPerSet: 2 }],
        drift: { kind: 'required-empty', from: 5 },
      },
      '837P',
    );
    const payments = envelopesOf(
      { seed: 22, controlNumber: 8002, groups: [{ kind: '835', sets: 3, claimsPerSet: 2 }] },
      '835',
    );
    await producer.send(
      topics.raw,
      [...claims, ...payments].map((e) => ({ key: e.recordId, value: e })),
    );
    const after = new Set(claims.slice(5).map((e) => e.recordId));
    const quarantined = await waitForValue(
      async () => {
        const found = (await readValues<QuarantineRecord>(kafka, codec, topics.quarantine)).filter((q) =>
          after.has(q.recordId),
        );
        return found.length >= after.size ? found : undefined;
      },
      { what: '5 quarantined sets', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(new Set(quarantined.map((q) => `${q.reason}:${q.fieldPath}:${q.resourceType}`))).toEqual(
      new Set(['missing_required:CLM-02:X12:837P']),
    );
    // Sets 0-4 hold 2 claims each; in set 5 the first claim drifts, so the whole set is held back.
    const valid = await waitForValue(
      async () => {
        const found = await readValues<Record<string, unknown>>(kafka, codec, `${topics.validPrefix}Claim`);
        return found.length >= 10 ? found : undefined;
      },
      { what: '10 claims', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(valid).toHaveLength(10);
    expect(valid.every((c) => c.sourceId === sourceId && String(c.patientRef).startsWith('enc:'))).toBe(true);
    const eobs = await waitForValue(
      async () => {
        const found = await readValues<Record<string, unknown>>(
          kafka,
          codec,
          `${topics.validPrefix}ExplanationOfBenefit`,
        );
        return found.length >= 6 ? found : undefined;
      },
      { what: '6 explanations of benefit', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(eobs).toHaveLength(6);
    const events = await waitForValue(
      async () => {
        const found = (await readValues<DriftEvent>(kafka, codec, topics.drift)).filter((d) =>
          d.fieldPath?.includes('CLM-02'),
        );
        return found.length > 0 ? found : undefined;
      },
      { what: 'a drift event at CLM-02', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(events[0]).toMatchObject({ kind: 'missing_field', sourceId });
    const haystack = JSON.stringify([
      quarantined.map((q) => ({ ...q, payload: undefined })),
      events,
      logLines,
    ]);
    expect(haystack).not.toMatch(
      /SIMM\d{8}|SIMC\d{9}|Quillfeather|Brambleton|Osterholt|Vantrelli|Mirowska|Castellane|Thornbury/,
    );
  });
});
