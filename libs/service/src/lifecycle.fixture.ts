// A tiny service process for lifecycle.test.ts: `node lifecycle.fixture.ts <mode> <canary>`. It logs
// through the product's logger to stdout, as a real service does.
import { PipelineError } from '@ehrflow/errors';
import { createLogger } from '@ehrflow/logging';
import { createServiceHttp } from './service-http.ts';
import { runService } from './lifecycle.ts';

const mode = process.argv[2] ?? 'ok';
// The test passes a canary; it is put in every error message and must never reach the output.
const FIXTURE_CANARY = process.argv[3] ?? 'canary';

const logger = createLogger({ name: 'fixture' });

await runService({
  name: 'fixture',
  logger,
  shutdownTimeoutMs: mode === 'hang' ? 300 : 5000,
  start: async () => {
    if (mode === 'start-fail') throw new Error(`cannot start for ${FIXTURE_CANARY}`);
    const http = createServiceHttp({
      name: 'fixture',
      port: 0,
      host: '127.0.0.1',
      logger,
      readiness: () => true,
    });
    const { port } = await http.listen();
    if (mode === 'reject') {
      setImmediate(() => {
        void Promise.reject(new Error(`lost record ${FIXTURE_CANARY}`));
      });
    }
    return {
      http,
      stop: async () => {
        // What an orchestrator would see mid-drain: readiness must already be off.
        const readyz = await fetch(`http://127.0.0.1:${port}/readyz`);
        logger.info({ event: 'stop-called', readyz: readyz.status }, 'fixture stop');
        if (mode === 'fail') {
          const cause = new Error(`broker refused ${FIXTURE_CANARY}`);
          throw new PipelineError('KAFKA_UNAVAILABLE', 'producer flush failed', { cause });
        }
        if (mode === 'hang') await new Promise<never>(() => undefined);
      },
    };
  },
});
logger.info({ event: 'running' }, 'fixture running');
