/**
 * The validator service: consumes `ehr.raw`, produces `ehr.valid.<Type>`, `ehr.quarantine` and
 * `ehr.drift`. Configuration, Kafka, health/readiness/metrics and
 * the lifecycle come from `runStage`; run `node services/validator/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { validatorEnv } from './config.ts';
import { startValidatorStage } from './stage.ts';
import { USAGE } from './usage.ts';

await runStage({ name: 'validator', usage: USAGE, env: validatorEnv, start: startValidatorStage });
