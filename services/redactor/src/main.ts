/**
 * The redactor service: consumes `ehr.valid.<Type>`, produces de-identified `ehr.clean.<Type>`
 * (and `ehr.quarantine` for refused records), with /healthz, /readyz and /metrics.
 * Run `node services/redactor/src/main.ts --help`.
 */
import { runStage } from '@ehrflow/service';
import { redactorEnv } from './config.ts';
import { startRedactor } from './service.ts';
import { USAGE } from './usage.ts';

await runStage({
  name: 'redactor',
  usage: USAGE,
  env: redactorEnv,
  async start({ config, logger, metrics, kafka, env }) {
    const redactor = await startRedactor({ config, logger, metrics, env, kafka: kafka() });
    return {
      ready: () => redactor.ready(),
      stop: () => redactor.stop(),
      done: redactor.done,
      started: { delivery: config.REDACTOR_DELIVERY, policy: redactor.plan.policy.name },
    };
  },
});
