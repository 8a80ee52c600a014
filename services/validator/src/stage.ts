import type { StageContext, StageHandle } from '@ehrflow/service';
import type { ValidatorConfig } from './config.ts';
import { startValidator } from './service.ts';

/** The validator as a pipeline stage: what `runStage` starts in `main.ts`. */
export async function startValidatorStage(context: StageContext<ValidatorConfig>): Promise<StageHandle> {
  const validator = await startValidator({ ...context, kafka: context.kafka() });
  return { ...validator, started: { delivery: context.config.VALIDATOR_DELIVERY } };
}
