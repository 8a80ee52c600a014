import type { Pool, PoolClient } from 'pg';
import { INFRA_TABLES } from './ddl.ts';
import { qualified } from './names.ts';
import { toDatabaseError } from '@ehrflow/service/database';

/** `topic|partition`, the key of a position map. */
export function positionKey(topic: string, partition: number): string {
  return `${topic}|${partition}`;
}

/**
 * Locks the position row of a partition for the rest of the transaction (creating it at 0 when
 * missing) and returns the next offset to load. The lock is what makes a zombie replica harmless:
 * after a rebalance two replicas may briefly hold the same partition, and the second to lock sees
 * the first one's committed position and skips what it already loaded.
 */
export async function lockPosition(
  client: PoolClient,
  schema: string,
  groupId: string,
  topic: string,
  partition: number,
): Promise<bigint> {
  const table = qualified(schema, INFRA_TABLES.offsets);
  await client.query(
    `INSERT INTO ${table} (group_id, topic, partition, next_offset) VALUES ($1, $2, $3, 0) ON CONFLICT DO NOTHING`,
    [groupId, topic, partition],
  );
  const res = await client.query<{ next_offset: string }>(
    `SELECT next_offset FROM ${table} WHERE group_id = $1 AND topic = $2 AND partition = $3 FOR UPDATE`,
    [groupId, topic, partition],
  );
  return BigInt(res.rows[0]?.next_offset ?? '0');
}

/** Sets the next offset of a partition (inside the transaction that holds its lock). */
export async function storePosition(
  client: PoolClient,
  schema: string,
  groupId: string,
  topic: string,
  partition: number,
  next: bigint,
): Promise<void> {
  await client.query(
    `UPDATE ${qualified(schema, INFRA_TABLES.offsets)} SET next_offset = $4, updated_at = now()
      WHERE group_id = $1 AND topic = $2 AND partition = $3`,
    [groupId, topic, partition, next.toString()],
  );
}

/** Every stored position of a group (optionally only for some topics): `topic|partition` → next offset. */
export async function readPositions(
  pool: Pool,
  schema: string,
  groupId: string,
  topics?: readonly string[],
): Promise<Map<string, bigint>> {
  try {
    const res = await pool.query<{ topic: string; partition: number; next_offset: string }>(
      `SELECT topic, partition, next_offset FROM ${qualified(schema, INFRA_TABLES.offsets)}
        WHERE group_id = $1 AND ($2::text[] IS NULL OR topic = ANY($2))`,
      [groupId, topics === undefined ? null : [...topics]],
    );
    return new Map(res.rows.map((r) => [positionKey(r.topic, r.partition), BigInt(r.next_offset)]));
  } catch (err) {
    throw toDatabaseError(err, 'read positions');
  }
}

/**
 * Forgets stored positions past the end of their partition. Such a position can only mean the
 * topic was deleted and created again (a reset cluster, a recreated topic): its offsets start over,
 * and keeping the old position would skip every new record up to it. Loading from the start again
 * is safe (a newer-or-equal version never loses to a replay). Returns the forgotten positions.
 */
export async function forgetPositionsPastEnd(
  pool: Pool,
  schema: string,
  groupId: string,
  positions: Map<string, bigint>,
  ends: ReadonlyMap<string, bigint>,
): Promise<{ topic: string; partition: number; stored: string; end: string }[]> {
  const forgotten: { topic: string; partition: number; stored: string; end: string }[] = [];
  for (const [key, stored] of positions) {
    const end = ends.get(key);
    if (end === undefined || stored <= end) continue;
    const [topic = '', partition = '0'] = key.split('|');
    await pool.query(
      `DELETE FROM ${qualified(schema, INFRA_TABLES.offsets)} WHERE group_id = $1 AND topic = $2 AND partition = $3`,
      [groupId, topic, Number(partition)],
    );
    positions.delete(key);
    forgotten.push({ topic, partition: Number(partition), stored: stored.toString(), end: end.toString() });
  }
  return forgotten;
}
