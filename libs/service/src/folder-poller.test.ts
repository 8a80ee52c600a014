import { describe, expect, it } from 'vitest';
import { createFolderPoller } from './folder-poller.ts';
import { capturingLogger } from './testing/capturing-logger.ts';

describe('createFolderPoller', () => {
  it('takes the listed files in order, counts what take counted and holds the files after a failing one', async () => {
    const { logger, lines } = capturingLogger('test-folder');
    const taken: string[] = [];
    const folder = createFolderPoller({
      pollMs: 60_000,
      logger,
      folder: 'inbox',
      list: () => Promise.resolve(['a.x12', 'c.x12', 'b.x12', 'd.x12']),
      take: (name) => {
        taken.push(name);
        if (name === 'b.x12') return Promise.reject(new Error('broker gone'));
        return Promise.resolve(name !== 'c.x12');
      },
      shown: (name) => name.toUpperCase(),
    });
    expect(await folder.scan()).toBe(1);
    expect(taken).toEqual(['a.x12', 'c.x12', 'b.x12']);
    expect(lines).toEqual([
      expect.objectContaining({
        file: 'B.X12',
        msg: 'inbox: file could not be taken in; will retry it before the files after it',
      }),
    ]);
  });

  it('takes nothing more once stopped', async () => {
    const { logger } = capturingLogger('test-folder');
    const taken: string[] = [];
    const folder = createFolderPoller({
      pollMs: 60_000,
      logger,
      folder: 'drop folder',
      list: () => Promise.resolve(['a.hl7', 'b.hl7']),
      take: async (name) => {
        taken.push(name);
        await folder.stop();
        return true;
      },
      shown: (name) => name,
    });
    expect(await folder.scan()).toBe(1);
    expect(taken).toEqual(['a.hl7']);
    expect(folder.stopping).toBe(true);
  });
});
