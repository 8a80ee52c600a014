/**
 * The redactor service: consumes `ehr.valid.<Type>`, produces de-identified `ehr.clean.<Type>`
 * (and `ehr.quarantine` for refused records). Configuration, Kafka, health/readiness/metrics and
 * the lifecycle come from `runStage`; run `node services/redactor/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { redactorEnv } from './config.ts';
import { startRedactorStage } from './stage.ts';
import { USAGE } from './usage.ts';

await runStage({ name: 'redactor', usage: USAGE, env: redactorEnv, start: startRedactorStage });
