/**
 * `kill -9` of each service in turn, of each feed's receiver, then of all of them at once; each
 * restarted after a pause.
 */
import type { FaultContext, FeedService, PipelineService, Scenario, SuiteService } from '../scenario.ts';

const SERVICES: readonly PipelineService[] = ['extractor', 'validator', 'redactor', 'loader'];
const RECEIVERS: readonly FeedService[] = ['mllp-receiver', 'billing-receiver'];

async function killAndRestart(
  ctx: FaultContext,
  names: readonly SuiteService[],
): Promise<{ faultEndedAt: number }> {
  for (const name of names) await ctx.killService(name);
  ctx.log(`kill -9 ${names.join(', ')}; restart in ${ctx.durations.killPauseMs} ms`);
  await ctx.sleep(ctx.durations.killPauseMs);
  // Downstream first, as a deployment's rollout would bring them back in any order anyway.
  for (const name of [...names].reverse()) await ctx.restartService(name);
  return { faultEndedAt: Date.now() };
}

export const serviceScenarios: readonly Scenario[] = [
  ...SERVICES.map((name): Scenario => ({
    name: `kill-${name}`,
    summary: `kill -9 of the ${name} while data flows, restarted after a pause`,
    inject: (ctx) => killAndRestart(ctx, [name]),
  })),
  ...RECEIVERS.map((name): Scenario => ({
    name: `kill-${name}`,
    summary: `kill -9 of the ${name} while its feed arrives, restarted after a pause (senders resend what was not ACKed)`,
    async inject(ctx) {
      if (!ctx.feeds) return { notes: ['no feeds in this run (--no-feeds): nothing to kill'] };
      return killAndRestart(ctx, [name]);
    },
  })),
  {
    name: 'kill-all',
    summary: 'kill -9 of all four services and both feed receivers at once, restarted after a pause',
    inject: (ctx) => killAndRestart(ctx, ctx.feeds ? [...RECEIVERS, ...SERVICES] : SERVICES),
  },
];
