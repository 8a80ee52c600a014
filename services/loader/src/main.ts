/**
 * The loader service process: `node services/loader/src/main.ts` (configuration from the
 * environment, see `--help`). Health, readiness and Prometheus metrics on HTTP_PORT; drains on
 * SIGTERM (the batch in flight commits, then the process leaves the consumer group).
 */
import { runStage } from '@ehrflow/service';
import { loaderEnv } from './config.ts';
import { startLoaderService } from './service.ts';
import { USAGE } from './usage.ts';

await runStage({
  name: 'loader',
  usage: USAGE,
  env: loaderEnv,
  async start({ config, logger, metrics, kafka, env }) {
    const service = await startLoaderService({ config, logger, metrics, env, kafka: kafka() });
    return {
      ready: () => service.loader.ready(),
      stop: () => service.stop(),
      // A loader that stops by itself (an error it cannot retry) takes the process down with it.
      done: service.loader.done,
    };
  },
});
