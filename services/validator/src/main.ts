/**
 * The validator service: consumes `ehr.raw`, produces `ehr.valid.<Type>`, `ehr.quarantine` and
 * `ehr.drift`, with /healthz, /readyz and /metrics. Run `node services/validator/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { validatorEnv } from './config.ts';
import { startValidator } from './service.ts';
import { USAGE } from './usage.ts';

await runStage({
  name: 'validator',
  usage: USAGE,
  env: validatorEnv,
  async start({ config, logger, metrics, kafka, env }) {
    const validator = await startValidator({ config, logger, metrics, env, kafka: kafka() });
    return {
      ready: () => validator.ready(),
      stop: () => validator.stop(),
      done: validator.done,
      started: { delivery: config.VALIDATOR_DELIVERY },
    };
  },
});
