import { describe, expect, it } from 'vitest';
import { ConfigError, booleanFlag, csv, loadConfig, pipelineEnv, z } from './index.ts';

const pipeline = z.object(pipelineEnv);

const validPipelineEnv = {
  KAFKA_BROKERS: 'k1:9092, k2:9092,',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7',
  PHI_KEYRING: 'k1:AAAA',
  PSEUDONYM_KEY: 'BBBB',
};

function problemsOf(fn: () => unknown): ConfigError['problems'] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('pipelineEnv', () => {
  it('parses a minimal valid environment with defaults', () => {
    const cfg = loadConfig(pipeline, validPipelineEnv);
    expect(cfg).toMatchObject({
      EHRFLOW_MODE: 'production',
      LOG_LEVEL: 'info',
      KAFKA_BROKERS: ['k1:9092', 'k2:9092'],
      KAFKA_SSL: false,
      HTTP_PORT: 0,
      SHUTDOWN_TIMEOUT_MS: 15_000,
    });
  });

  it('requires the secrets and never defaults them', () => {
    const problems = problemsOf(() =>
      loadConfig(pipeline, { KAFKA_BROKERS: 'k:9092', SCHEMA_REGISTRY_URL: 'http://r' }),
    );
    expect(problems).toEqual([
      { variable: 'PHI_KEYRING', reason: 'is required' },
      { variable: 'PSEUDONYM_KEY', reason: 'is required' },
    ]);
  });

  it('refuses a broker list with no entry and a non-positive shutdown timeout', () => {
    const problems = problemsOf(() =>
      loadConfig(pipeline, { ...validPipelineEnv, KAFKA_BROKERS: ' , ', SHUTDOWN_TIMEOUT_MS: '0' }),
    );
    expect(problems).toEqual([
      { variable: 'KAFKA_BROKERS', reason: 'must be at least 1 item(s)' },
      { variable: 'SHUTDOWN_TIMEOUT_MS', reason: 'must be greater than 0' },
    ]);
  });
});

describe('helpers', () => {
  it('booleanFlag accepts the documented spellings only', () => {
    const flag = booleanFlag(true);
    expect(flag.parse(undefined)).toBe(true);
    expect(flag.parse('no')).toBe(false);
    expect(flag.parse('1')).toBe(true);
    expect(flag.safeParse('maybe').success).toBe(false);
  });

  it('csv trims entries and drops empty ones', () => {
    expect(csv.parse(' a ,b,, c')).toEqual(['a', 'b', 'c']);
    expect(csv.safeParse(',').success).toBe(false);
  });
});
