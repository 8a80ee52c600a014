import { describe, expect, it } from 'vitest';
import { MAX_SEND_BYTES } from './send-limit.ts';
import { memoryLogger, type LogLine } from './testing/kafka.ts';
import {
  RECORD_MARGIN_BYTES,
  createTopicLimits,
  recordLimit,
  sendLimit,
  type ConfigAdmin,
} from './topic-limits.ts';

const MiB = 1024 * 1024;

/** An admin answering `describeConfigs` from `limits` (a topic absent from it: error code 3). */
function fakeAdmin(limits: Record<string, number>, fail = false) {
  const asked: string[][] = [];
  const admin: ConfigAdmin = {
    describeConfigs: (request) => {
      asked.push(request.resources.map((r) => r.name));
      if (fail) return Promise.reject(new Error('cluster authorization failed'));
      return Promise.resolve({
        throttleTime: 0,
        resources: request.resources.map((r) => ({
          errorCode: limits[r.name] === undefined ? 3 : 0,
          errorMessage: null,
          resourceName: r.name,
          resourceType: r.type,
          configEntries:
            limits[r.name] === undefined
              ? []
              : [
                  {
                    configName: 'max.message.bytes',
                    configValue: String(limits[r.name]),
                    isDefault: false,
                    configSource: 1,
                    isSensitive: false,
                    readOnly: false,
                    configSynonyms: [],
                  },
                ],
        })),
      } as unknown as Awaited<ReturnType<ConfigAdmin['describeConfigs']>>);
    },
  };
  return { admin, asked };
}

describe('record limits', () => {
  it("is the topic's limit less the margin, capped by a ceiling, and the ceiling or the default without one", () => {
    expect(recordLimit(2 * MiB, undefined)).toBe(2 * MiB - RECORD_MARGIN_BYTES);
    expect(recordLimit(2 * MiB, 512 * 1024)).toBe(512 * 1024);
    expect(recordLimit(256 * 1024, 64 * MiB)).toBe(256 * 1024 - RECORD_MARGIN_BYTES);
    expect(recordLimit(undefined, 300_000)).toBe(300_000);
    expect(recordLimit(undefined, undefined)).toBe(MiB - RECORD_MARGIN_BYTES);
    // A small topic keeps an eighth of its limit as margin, never a negative record limit.
    expect(recordLimit(64 * 1024, undefined)).toBe(56 * 1024);
    expect(recordLimit(undefined, undefined, 3 * MiB)).toBe(3 * MiB);
    expect(recordLimit(undefined, 300_000, 3 * MiB)).toBe(300_000);
    expect(recordLimit(2 * MiB, undefined, 3 * MiB)).toBe(2 * MiB - RECORD_MARGIN_BYTES);
  });

  it('keeps a produce call under the smallest record limit of its topics, and under MAX_SEND_BYTES', () => {
    expect(sendLimit([])).toBe(MAX_SEND_BYTES);
    expect(sendLimit([2 * MiB, 4 * MiB])).toBe(MAX_SEND_BYTES);
    expect(sendLimit([2 * MiB, 240 * 1024])).toBe(240 * 1024);
  });
});

describe('topic limits read from the broker', () => {
  it('reads each topic once, also when asked for it concurrently', async () => {
    const { admin, asked } = fakeAdmin({ a: 2 * MiB, b: 300_000 });
    const limits = createTopicLimits({ admin: () => Promise.resolve(admin) });
    const first = await Promise.all([limits.limitOf('a'), limits.limitOf('a'), limits.limitOf('b')]);
    expect(first).toEqual([
      2 * MiB - RECORD_MARGIN_BYTES,
      2 * MiB - RECORD_MARGIN_BYTES,
      300_000 - RECORD_MARGIN_BYTES,
    ]);
    expect(await limits.limitOf('a')).toBe(2 * MiB - RECORD_MARGIN_BYTES);
    expect(asked).toEqual([['a'], ['b']]);
  });

  it('warns once when the ceiling is above what the topic takes, naming the setting, and applies the topic', async () => {
    const lines: LogLine[] = [];
    const { admin } = fakeAdmin({ out: 256 * 1024 });
    const limits = createTopicLimits({
      admin: () => Promise.resolve(admin),
      ceiling: 4 * MiB,
      ceilingName: 'STAGE_MAX_OUTPUT_BYTES',
      logger: memoryLogger(lines),
    });
    expect(await limits.limitOf('out')).toBe(256 * 1024 - RECORD_MARGIN_BYTES);
    expect(await limits.limitOf('out')).toBe(256 * 1024 - RECORD_MARGIN_BYTES);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.obj).toMatchObject({
      topic: 'out',
      setting: 'STAGE_MAX_OUTPUT_BYTES',
      ceiling: 4 * MiB,
    });
  });

  it('falls back to the ceiling or the default when the topic cannot be described, and asks again a minute later', async () => {
    const lines: LogLine[] = [];
    let now = 0;
    const denied = fakeAdmin({}, true);
    const limits = createTopicLimits({
      admin: () => Promise.resolve(denied.admin),
      logger: memoryLogger(lines),
      now: () => now,
    });
    expect(await limits.limitOf('out')).toBe(MiB - RECORD_MARGIN_BYTES);
    expect(await limits.limitOf('out')).toBe(MiB - RECORD_MARGIN_BYTES);
    expect(denied.asked).toHaveLength(1);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    now += 60_000;
    await limits.limitOf('out');
    expect(denied.asked).toHaveLength(2);
    // Still failing: no second warning.
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);

    const unknown = fakeAdmin({});
    const withCeiling = createTopicLimits({ admin: () => Promise.resolve(unknown.admin), ceiling: 300_000 });
    expect(await withCeiling.limitOf('missing')).toBe(300_000);
    const noAdmin = createTopicLimits({ admin: () => Promise.reject(new Error('no broker')) });
    expect(await noAdmin.limitOf('out')).toBe(MiB - RECORD_MARGIN_BYTES);
  });

  it('takes the fallback for a topic the broker does not describe or cannot be asked about, with a warning, and the topic limit when it can', async () => {
    const lines: LogLine[] = [];
    const fallback = 2 * MiB - RECORD_MARGIN_BYTES;
    const unknown = createTopicLimits({
      admin: () => Promise.resolve(fakeAdmin({}).admin),
      fallback,
      logger: memoryLogger(lines),
    });
    expect(await unknown.limitOf('raw')).toBe(fallback);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.obj)).toEqual([
      { topic: 'raw', limit: fallback },
    ]);
    const failing = createTopicLimits({ admin: () => Promise.reject(new Error('no broker')), fallback });
    expect(await failing.limitOf('raw')).toBe(fallback);
    const withCeiling = createTopicLimits({
      admin: () => Promise.reject(new Error('no broker')),
      fallback,
      ceiling: 300_000,
    });
    expect(await withCeiling.limitOf('raw')).toBe(300_000);
    const described = createTopicLimits({
      admin: () => Promise.resolve(fakeAdmin({ raw: 4 * MiB }).admin),
      fallback,
    });
    expect(await described.limitOf('raw')).toBe(4 * MiB - RECORD_MARGIN_BYTES);
  });

  it('reads a topic again on refresh and keeps the new limit; keeps the old one when the topic is not described', async () => {
    const topics: Record<string, number> = { out: 2 * MiB };
    const { admin, asked } = fakeAdmin(topics);
    const limits = createTopicLimits({ admin: () => Promise.resolve(admin), ceiling: 4 * MiB });
    expect(await limits.limitOf('out')).toBe(2 * MiB - RECORD_MARGIN_BYTES);
    topics.out = 256 * 1024;
    expect(await limits.limitOf('out')).toBe(2 * MiB - RECORD_MARGIN_BYTES);
    expect(await limits.refresh('out')).toBe(256 * 1024 - RECORD_MARGIN_BYTES);
    expect(await limits.limitOf('out')).toBe(256 * 1024 - RECORD_MARGIN_BYTES);
    expect(asked).toEqual([['out'], ['out']]);

    delete topics.out;
    expect(await limits.refresh('out')).toBeUndefined();
    expect(await limits.limitOf('out')).toBe(256 * 1024 - RECORD_MARGIN_BYTES);
    const failing = createTopicLimits({ admin: () => Promise.reject(new Error('no broker')) });
    expect(await failing.refresh('out')).toBeUndefined();
  });
});
