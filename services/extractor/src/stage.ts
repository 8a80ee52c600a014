import type { StageContext, StageHandle } from '@ehrflow/service';
import { adminTokenFromEnv, registerAdminAuth } from './admin-auth.ts';
import { registerJobRoutes } from './admin-routes.ts';
import { buildExtractor } from './app.ts';
import type { ExtractorEnv } from './config.ts';
import { createExtractorMetrics } from './metrics.ts';

/**
 * The extractor as a pipeline stage: what `runStage` starts in `main.ts`. A bad sources file (or
 * a token URL discovery could not find) throws ConfigError, which exits 78 like a bad environment.
 * The job admin API joins the health endpoints; jobs start once the server listens.
 */
export async function startExtractorStage(context: StageContext<ExtractorEnv>): Promise<StageHandle> {
  const { config, logger, metrics, env } = context;
  const extractor = await buildExtractor(
    config,
    logger,
    createExtractorMetrics(metrics),
    env,
    context.kafka(),
  );
  return {
    ready: () => extractor.ready(),
    stop: () => extractor.close(),
    routes(app) {
      registerAdminAuth(app, { token: adminTokenFromEnv(env), logger, metrics });
      registerJobRoutes(app, extractor.jobs);
    },
    listening: () => extractor.jobs.run(),
  };
}
