import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CanaryMatcher } from '@ehrflow/testing';
import type { LeakHit } from './leak-report.ts';
import type { ValueScanner } from './scan-value.ts';

/** One Redis key with every value it holds (members, fields and values, stream entries). */
export interface RedisEntry {
  readonly key: Buffer;
  readonly type: string;
  readonly values: readonly Buffer[];
}

/**
 * Scans one key: its name as clear text, its values through the value scanner (so an encrypted
 * `enc:v1:` value is checked as ciphertext). A key is located by a short hash of its name and its
 * type; the name itself is never printed, since it is one of the things being checked.
 */
export function scanRedisEntry(entry: RedisEntry, matcher: CanaryMatcher, scanner: ValueScanner): LeakHit[] {
  const where = `key sha256:${createHash('sha256').update(entry.key).digest('hex').slice(0, 12)} (${entry.type})`;
  const hits: LeakHit[] = [];
  for (const m of matcher.findInBytes(entry.key)) {
    hits.push({ source: 'redis', location: `${where} name`, canary: m.index, count: m.count, kind: 'clear' });
  }
  entry.values.forEach((value, i) => {
    const result = scanner.scan(value.toString('utf8'));
    for (const m of matcher.findInBytes(value)) {
      // Binary values: the UTF-8 walk above cannot see a canary in Latin-1 bytes.
      if (!result.hits.some((h) => h.canary === m.index)) {
        hits.push({
          source: 'redis',
          location: `${where} value ${i}`,
          canary: m.index,
          count: m.count,
          kind: 'clear',
        });
      }
    }
    for (const h of result.hits) {
      hits.push({
        source: 'redis',
        location: `${where} value ${i}`,
        canary: h.canary,
        count: h.count,
        kind: h.kind,
      });
    }
  });
  return hits;
}

/** Every key matching `pattern` (SCAN, never KEYS) with its values, whatever the type. */
export async function* readRedisEntries(redis: Redis, pattern: string): AsyncGenerator<RedisEntry> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scanBuffer(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next.toString();
    for (const key of keys) {
      const type = await redis.type(key);
      const values = await valuesOf(redis, key, type);
      // A key that expired between SCAN and the read is simply gone.
      if (values !== undefined) yield { key, type, values };
    }
  } while (cursor !== '0');
}

async function valuesOf(redis: Redis, key: Buffer, type: string): Promise<Buffer[] | undefined> {
  switch (type) {
    case 'string': {
      const v = await redis.getBuffer(key);
      return v === null ? undefined : [v];
    }
    case 'hash': {
      const flat = await redis.hgetallBuffer(key);
      return Object.entries(flat).flatMap(([field, value]) => [Buffer.from(field), value]);
    }
    case 'list':
      return redis.lrangeBuffer(key, 0, -1);
    case 'set':
      return redis.smembersBuffer(key);
    case 'zset':
      return redis.zrangeBuffer(key, 0, '-1');
    case 'stream': {
      const entries = await redis.xrangeBuffer(key, '-', '+');
      return entries.flatMap(([id, fields]) => [id, ...fields]);
    }
    case 'none':
      return undefined;
    default:
      // Modules' types (JSON, time series): the dump bytes still hold the data.
      return [(await redis.dumpBuffer(key)) ?? Buffer.alloc(0)];
  }
}
