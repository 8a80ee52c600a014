import type { StageContext, StageHandle } from '@ehrflow/service';
import type { BillingConfig } from './config.ts';
import { startBillingReceiver } from './service.ts';

/** The billing receiver as a pipeline stage: what `runStage` starts in `main.ts`. */
export async function startBillingStage(context: StageContext<BillingConfig>): Promise<StageHandle> {
  const receiver = await startBillingReceiver({ ...context, kafka: context.kafka() });
  return { ready: () => receiver.ready(), stop: () => receiver.stop() };
}
