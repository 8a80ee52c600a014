/**
 * The MLLP receiver service: HL7 v2 over MLLP in, raw envelopes on `ehr.raw`, ACKs only after
 * the durable write. Run `node services/mllp-receiver/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { receiverEnv } from './config.ts';
import { startReceiver } from './service.ts';
import { USAGE } from './usage.ts';

await runStage({
  name: 'mllp-receiver',
  usage: USAGE,
  env: receiverEnv,
  async start({ config, logger, metrics, kafka, env }) {
    const receiver = await startReceiver({ config, logger, metrics, env, kafka: kafka() });
    return {
      ready: () => receiver.ready(),
      stop: () => receiver.stop(),
      started: { mllpPort: receiver.port },
    };
  },
});
