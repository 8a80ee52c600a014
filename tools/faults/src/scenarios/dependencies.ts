/**
 * The private stack's dependencies failing while data flows: the Kafka broker stopped and started
 * again, the schema registry unreachable, PostgreSQL restarted, Redis stopped. The services are not
 * restarted: they must reconnect by themselves.
 */
import type { FaultContext, PipelineService, Scenario, StackDependency } from '../scenario.ts';

const SERVICES: readonly PipelineService[] = ['extractor', 'validator', 'redactor', 'loader'];

/** What each service's /readyz says (status and the names of failing checks), for the report. */
async function readinessNote(ctx: FaultContext, when: string): Promise<string> {
  const parts: string[] = [];
  for (const name of SERVICES) {
    const { status, body } = await ctx.readiness(name);
    parts.push(`${name} ${status === 0 ? 'unreachable' : String(status)}${failingChecks(body)}`);
  }
  return `/readyz ${when}: ${parts.join(', ')}`;
}

/** ` (check, check)` for the checks a /readyz body reports as not ok; empty when none. */
export function failingChecks(body: string): string {
  try {
    const parsed = JSON.parse(body) as {
      checks?: Record<string, { ok?: boolean; status?: string } | boolean>;
    };
    const failing = Object.entries(parsed.checks ?? {})
      .filter(([, v]) =>
        typeof v === 'boolean' ? !v : v.ok === false || (v.status !== undefined && v.status !== 'ok'),
      )
      .map(([k]) => k);
    return failing.length > 0 ? ` (${failing.join(', ')})` : '';
  } catch {
    return '';
  }
}

function outage(
  name: string,
  dep: StackDependency,
  summary: string,
  duration: (ctx: FaultContext) => number,
  how: 'stop' | 'kill' = 'stop',
): Scenario {
  return {
    name,
    summary,
    async inject(ctx) {
      const ms = duration(ctx);
      if (how === 'kill' && (dep === 'kafka' || dep === 'registry')) await ctx.killDependency(dep);
      else await ctx.stopDependency(dep);
      ctx.log(`${dep} ${how === 'kill' ? 'killed (kill -9)' : 'stopped'} for ${ms} ms`);
      const notes: string[] = [];
      // Readiness half way through the outage: which services say they are degraded, and why.
      await ctx.sleep(Math.floor(ms / 2));
      notes.push(await readinessNote(ctx, `during the ${dep} outage`));
      await ctx.sleep(ms - Math.floor(ms / 2));
      await ctx.startDependency(dep);
      const faultEndedAt = Date.now();
      ctx.log(`${dep} back`);
      return { faultEndedAt, notes };
    },
  };
}

export const dependencyScenarios: readonly Scenario[] = [
  outage(
    'kafka-down',
    'kafka',
    'the Kafka broker stopped, then started again; services reconnect by themselves',
    (c) => c.durations.kafkaOutageMs,
  ),
  outage(
    'kafka-kill',
    'kafka',
    'kill -9 of the Kafka broker (no clean shutdown), restarted after the outage; services reconnect by themselves',
    (c) => c.durations.kafkaOutageMs,
    'kill',
  ),
  outage(
    'registry-down',
    'registry',
    'the schema registry unreachable; services go on with cached schemas or pause, and resume without a restart',
    (c) => c.durations.registryOutageMs,
  ),
  outage(
    'postgres-restart',
    'postgres',
    'PostgreSQL stopped and started again mid-load (loader and extractor checkpoints)',
    (c) => c.durations.postgresOutageMs,
  ),
  outage(
    'redis-down',
    'redis',
    'Redis stopped (shared rate budget and token lock): the extractor falls back to a conservative local budget',
    (c) => c.durations.redisOutageMs,
  ),
];
