import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { applyServiceHeapFlags, serviceHeapGrowingPercent } from './node-options.ts';

describe('applyServiceHeapFlags', () => {
  it('sets the heap growing percent of the extractor and the validator, and of no other service', () => {
    const set: string[] = [];
    for (const service of ['extractor', 'validator', 'redactor', 'loader', 'hl7-receiver']) {
      applyServiceHeapFlags(service, [], (flags) => set.push(`${service} ${flags}`));
    }
    expect(set).toEqual([
      `extractor --heap-growing-percent=${serviceHeapGrowingPercent('extractor')}`,
      `validator --heap-growing-percent=${serviceHeapGrowingPercent('validator')}`,
    ]);
  });

  it('leaves a growing percent given on the node command line alone', () => {
    const set: string[] = [];
    expect(
      applyServiceHeapFlags('validator', ['--heap-growing-percent=50'], (f) => set.push(f)),
    ).toBeUndefined();
    expect(set).toEqual([]);
  });

  it('is a flag V8 knows (an unknown one prints "unrecognized flag" and is ignored)', () => {
    const script = `import { applyServiceHeapFlags } from ${JSON.stringify(new URL('./node-options.ts', import.meta.url).href)};
      console.log(applyServiceHeapFlags('validator', []));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(String(serviceHeapGrowingPercent('validator')));
    expect(run.stderr).not.toMatch(/unrecognized flag/);
  });
});
