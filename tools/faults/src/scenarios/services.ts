/** `kill -9` of each service in turn, then of all four at once; each restarted after a pause. */
import type { FaultContext, PipelineService, Scenario } from '../scenario.ts';

const SERVICES: readonly PipelineService[] = ['extractor', 'validator', 'redactor', 'loader'];

async function killAndRestart(
  ctx: FaultContext,
  names: readonly PipelineService[],
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
  {
    name: 'kill-all',
    summary: 'kill -9 of all four services at once, restarted after a pause',
    inject: (ctx) => killAndRestart(ctx, SERVICES),
  },
];
