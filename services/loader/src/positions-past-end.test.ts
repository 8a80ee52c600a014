import type { Pool } from 'pg';
import { describe, expect, it } from 'vitest';
import { forgetPositionsPastEnd, positionKey } from './positions.ts';

describe('forgetPositionsPastEnd', () => {
  it('forgets (in memory and in the table) only positions past the end of their partition', async () => {
    const deleted: unknown[][] = [];
    const pool = {
      query: (_sql: string, params: unknown[]) => {
        deleted.push(params);
        return Promise.resolve({ rows: [] });
      },
    } as unknown as Pool;
    const positions = new Map([
      [positionKey('ehr.clean.Patient', 0), 900n], // topic recreated: its end is 40
      [positionKey('ehr.clean.Patient', 1), 40n], // caught up exactly
      [positionKey('ehr.clean.Patient', 2), 10n], // behind
    ]);
    const ends = new Map([
      [positionKey('ehr.clean.Patient', 0), 40n],
      [positionKey('ehr.clean.Patient', 1), 40n],
      [positionKey('ehr.clean.Patient', 2), 40n],
    ]);
    const forgotten = await forgetPositionsPastEnd(pool, 'clean', 'g', positions, ends);
    expect(forgotten).toEqual([{ topic: 'ehr.clean.Patient', partition: 0, stored: '900', end: '40' }]);
    expect(deleted).toEqual([['g', 'ehr.clean.Patient', 0]]);
    expect([...positions.keys()]).toEqual([
      positionKey('ehr.clean.Patient', 1),
      positionKey('ehr.clean.Patient', 2),
    ]);
  });
});
