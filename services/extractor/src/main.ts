/**
 * The extractor service: runs extraction jobs (and resumes those a crashed replica left running)
 * with the job admin API. Configuration, Kafka, health/readiness/metrics and
 * the lifecycle come from `runStage`; run `node services/extractor/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { extractorEnv } from './config.ts';
import { startExtractorStage } from './stage.ts';
import { USAGE } from './usage.ts';

await runStage({ name: 'extractor', usage: USAGE, env: extractorEnv, start: startExtractorStage });
