/**
 * The MLLP receiver service: HL7 v2 over MLLP in, raw envelopes on `ehr.raw`, ACKs only after
 * the durable write. Configuration, Kafka, health/readiness/metrics and
 * the lifecycle come from `runStage`; run `node services/mllp-receiver/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { receiverEnv } from './config.ts';
import { startReceiverStage } from './stage.ts';
import { USAGE } from './usage.ts';

await runStage({ name: 'mllp-receiver', usage: USAGE, env: receiverEnv, start: startReceiverStage });
