import { SERVICE_MALLOC_ENV, serviceNodeOptions } from '@ehrflow/config/node-options';
import { describe, expect, it } from 'vitest';
import { serviceEnv, SERVICE_NAMES, type PipelineServicesOptions } from './services.ts';
import { pipelineTopics } from './topic-names.ts';

function options(
  env: NodeJS.ProcessEnv,
  extraEnv?: PipelineServicesOptions['extraEnv'],
): PipelineServicesOptions {
  return {
    env,
    topics: pipelineTopics('t.'),
    sourcesFile: 'sources.json',
    logDir: 'logs',
    extractorDbSchema: 'x',
    loaderDbSchema: 'l',
    ...(extraEnv === undefined ? {} : { extraEnv }),
  };
}

describe('serviceEnv', () => {
  it('starts every service with the heap options the manifests give it', () => {
    for (const name of SERVICE_NAMES)
      expect(serviceEnv(name, 1, options({})).NODE_OPTIONS).toBe(serviceNodeOptions(name));
    expect(serviceEnv('redactor', 1, options({})).NODE_OPTIONS).toContain('--max-old-space-size=');
    expect(serviceEnv('extractor', 1, options({})).NODE_OPTIONS).not.toContain('--max-old-space-size=');
  });

  it("puts the caller's own NODE_OPTIONS after the defaults, so they win", () => {
    const env = serviceEnv('redactor', 1, options({ NODE_OPTIONS: '--max-old-space-size=1024' }));
    expect(env.NODE_OPTIONS).toBe(`${serviceNodeOptions('redactor')} --max-old-space-size=1024`);
    const profiled = serviceEnv('loader', 1, options({}, { loader: { NODE_OPTIONS: '--cpu-prof' } }));
    expect(profiled.NODE_OPTIONS).toBe(`${serviceNodeOptions('loader')} --cpu-prof`);
  });

  it('starts every service with the malloc settings of the image, unless the caller sets its own', () => {
    expect(Object.keys(SERVICE_MALLOC_ENV)).toEqual(['MALLOC_ARENA_MAX', 'MALLOC_TRIM_THRESHOLD_']);
    for (const name of SERVICE_NAMES)
      expect(serviceEnv(name, 1, options({}))).toMatchObject(SERVICE_MALLOC_ENV);
    const own = serviceEnv('validator', 1, options({ MALLOC_ARENA_MAX: '4' }));
    expect(own.MALLOC_ARENA_MAX).toBe('4');
    expect(own.MALLOC_TRIM_THRESHOLD_).toBe(SERVICE_MALLOC_ENV.MALLOC_TRIM_THRESHOLD_);
  });
});
