/**
 * The loader service: loads `ehr.clean.<Type>` into PostgreSQL, rows and consumer positions in
 * one transaction; drains on SIGTERM (the batch in flight commits). Configuration, Kafka, health/readiness/metrics and
 * the lifecycle come from `runStage`; run `node services/loader/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { loaderEnv } from './config.ts';
import { startLoaderStage } from './service.ts';
import { USAGE } from './usage.ts';

await runStage({ name: 'loader', usage: USAGE, env: loaderEnv, start: startLoaderStage });
