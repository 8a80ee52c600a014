import type { StageContext, StageHandle } from '@ehrflow/service';
import type { ReceiverConfig } from './config.ts';
import { startReceiver } from './service.ts';

/** The MLLP receiver as a pipeline stage: what `runStage` starts in `main.ts`. */
export async function startReceiverStage(context: StageContext<ReceiverConfig>): Promise<StageHandle> {
  const receiver = await startReceiver({ ...context, kafka: context.kafka() });
  // The `mllp-receiver started` line carries both ports: supervisors and tests wait for it.
  return { ...receiver, started: { mllpPort: receiver.port } };
}
