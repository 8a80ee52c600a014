// A tiny stage for stage.test.ts: `node stage.fixture.ts [--help]` with the environment the
// test sets. STAGE_FIXTURE_MODE: `ok` (default) or `fail` (its work fails permanently at once).
import { pipelineEnv, z } from '@ehrflow/config';
import { PipelineError } from '@ehrflow/errors';
import { runStage } from './stage.ts';

await runStage({
  name: 'fixture-stage',
  usage: 'Usage: node stage.fixture.ts\n\nA stage for tests.\n',
  env: z.object({ ...pipelineEnv, STAGE_FIXTURE_MODE: z.enum(['ok', 'fail']).default('ok') }),
  start({ config, kafka }) {
    const client = kafka();
    // A stage makes several clients (a consumer's, a producer's): the transport warning is still one.
    kafka(`${client.clientId}-second`);
    const done =
      config.STAGE_FIXTURE_MODE === 'fail'
        ? Promise.reject(new PipelineError('KAFKA_UNAVAILABLE', 'consumer gave up'))
        : new Promise<void>(() => undefined);
    return Promise.resolve({
      ready: () => true,
      stop: () => Promise.resolve(),
      done,
      started: { clientId: client.clientId },
      routes(app) {
        app.get('/own', () => ({ own: true }));
      },
    });
  },
});
