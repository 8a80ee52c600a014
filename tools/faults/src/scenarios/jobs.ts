/** Job-level faults: two runs of the same backfill racing, and a job cancelled and resumed mid-way. */
import type { Scenario } from '../scenario.ts';

export const jobScenarios: readonly Scenario[] = [
  {
    name: 'backfill-race',
    summary: 'a second backfill of every source started while the first runs: rows land once',
    injectAt: 0.1,
    async inject(ctx) {
      for (const source of ctx.sources) {
        const job = await ctx.startBackfill(source);
        ctx.log(`second backfill ${job.id} of ${source}`);
      }
      return { faultEndedAt: Date.now() };
    },
  },
  {
    name: 'cancel-resume',
    summary: 'a running backfill cancelled mid-way, then resumed from its checkpoint',
    injectAt: 0.2,
    async inject(ctx) {
      const running = (await ctx.jobs()).filter((j) => j.state === 'running' || j.state === 'pending');
      const job = running[0];
      if (job === undefined) return { notes: ['no job was still running to cancel'] };
      await ctx.cancelJob(job.id);
      await ctx.waitFor(
        async () => (await ctx.jobs()).some((j) => j.id === job.id && j.state === 'cancelled'),
        `job ${job.id} to be cancelled`,
        60_000,
      );
      ctx.log(`job ${job.id} cancelled; resume in ${ctx.durations.killPauseMs} ms`);
      await ctx.sleep(ctx.durations.killPauseMs);
      await ctx.resumeJob(job.id);
      return { faultEndedAt: Date.now(), notes: [`job ${job.id} cancelled and resumed`] };
    },
  },
];
