import { ConfigError } from '@ehrflow/config';
import { PipelineError } from '@ehrflow/errors';
import { describe, expect, it } from 'vitest';
import { startFailure } from './start-failure.ts';

describe('startFailure', () => {
  it('lists every configuration problem on its own line', () => {
    const err = new ConfigError([
      { variable: 'source site-a: headroom', reason: 'must be at most 1' },
      {
        variable: 'source site-b: tokenUrl',
        reason: 'is not in the sources file and SMART discovery failed: x',
      },
    ]);
    expect(startFailure(err)).toBe(
      'extractor: invalid configuration\n  source site-a: headroom: must be at most 1\n' +
        '  source site-b: tokenUrl: is not in the sources file and SMART discovery failed: x\n',
    );
  });

  it('gives code and message of other pipeline errors, and only the name of foreign ones', () => {
    expect(
      startFailure(new PipelineError('SCHEMA_NOT_REGISTERED', 'subject ehr.raw-value is not registered')),
    ).toBe('the extractor could not start: SCHEMA_NOT_REGISTERED: subject ehr.raw-value is not registered\n');
    expect(startFailure(new Error('connect to secret-host failed'))).toBe(
      'the extractor could not start: Error\n',
    );
  });
});
