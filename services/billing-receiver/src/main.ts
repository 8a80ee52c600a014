/**
 * The billing receiver: X12 837/835 files dropped in a folder, checked whole, written to
 * `ehr.raw` one transaction set per record. Configuration, Kafka, health/readiness/metrics and
 * the lifecycle come from `runStage`; run `node services/billing-receiver/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { billingEnv } from './config.ts';
import { startBillingStage } from './stage.ts';
import { USAGE } from './usage.ts';

await runStage({ name: 'billing-receiver', usage: USAGE, env: billingEnv, start: startBillingStage });
