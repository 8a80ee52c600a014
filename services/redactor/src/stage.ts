import type { StageContext, StageHandle } from '@ehrflow/service';
import type { RedactorConfig } from './config.ts';
import { startRedactor } from './service.ts';

/** The redactor as a pipeline stage: what `runStage` starts in `main.ts`. */
export async function startRedactorStage(context: StageContext<RedactorConfig>): Promise<StageHandle> {
  const redactor = await startRedactor({ ...context, kafka: context.kafka() });
  const started = { delivery: context.config.REDACTOR_DELIVERY, policy: redactor.plan.policy.name };
  // `/readyz` check `service`: consuming, and the shared directory's Redis (when configured) answers.
  const ready = async (): Promise<boolean> => redactor.ready() && (await redactor.directoryReachable());
  return { ...redactor, ready, started };
}
