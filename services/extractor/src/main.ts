/**
 * The extractor service: runs extraction jobs (and resumes those a crashed replica left running)
 * with the job admin API, /healthz, /readyz and /metrics. Run `node services/extractor/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { adminTokenFromEnv, registerAdminAuth } from './admin-auth.ts';
import { registerJobRoutes } from './admin-routes.ts';
import { buildExtractor } from './app.ts';
import { extractorEnv } from './config.ts';
import { createExtractorMetrics } from './metrics.ts';
import { USAGE } from './usage.ts';

await runStage({
  name: 'extractor',
  usage: USAGE,
  env: extractorEnv,
  async start({ config, logger, metrics, kafka, env }) {
    const extractorMetrics = createExtractorMetrics(metrics);
    // A bad sources file (or a token URL discovery could not find) throws ConfigError: exit 78.
    const extractor = await buildExtractor(config, logger, extractorMetrics, env, kafka());
    return {
      ready: () => extractor.ready(),
      stop: () => extractor.close(),
      routes(app) {
        registerAdminAuth(app, { token: adminTokenFromEnv(env), logger, metrics });
        registerJobRoutes(app, extractor.jobs);
      },
      listening: () => extractor.jobs.run(),
    };
  },
});
