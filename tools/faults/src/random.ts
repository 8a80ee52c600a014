/**
 * The randomised mode: from a seed, a schedule of faults drawn from the simulator's repertoire
 * (EHR side), the EHR link's (a fault proxy in front of the EHR: latency, bandwidth, resets, down,
 * flapping, a short black hole), the dependency outages (stack side) and the feeds' receivers
 * killed, run as one scenario and checked against the same invariants. The schedule is a pure function of the seed, printed before the run, so a
 * failing seed reproduces the same faults in the same order (timings follow the machine).
 */
import { hashString, Rng, type FaultsInput, type RetryAfterMode } from '@ehrflow/ehr-sim';
import { createFaultProxy, type FaultProxy, type ProxyFault } from '@ehrflow/netfault';
import type {
  FaultContext,
  FaultDurations,
  FeedService,
  PipelineService,
  Scenario,
  StackDependency,
  SuiteService,
} from './scenario.ts';

/** A seeded random number source in [0, 1). */
export function seededRandom(seed: string): () => number {
  const rng = new Rng(hashString(seed));
  return () => rng.next();
}

/** One EHR-side fault: set at the start, cleared at the end of the schedule. */
export interface EhrFaultStep {
  readonly kind: 'ehr';
  readonly name: string;
  readonly faults: FaultsInput;
}

/** A token revocation, undone after `durationMs`; the job it failed is resumed. */
export interface RevokeStep {
  readonly kind: 'revoke';
  readonly atMs: number;
  readonly durationMs: number;
}

/** One dependency-side fault at `atMs` after the start. */
export interface DependencyStep {
  readonly kind: 'kill' | 'outage';
  readonly atMs: number;
  /** Services killed at once (kill) or the dependency stopped (outage). */
  readonly target: readonly SuiteService[] | StackDependency;
  readonly durationMs: number;
}

/** A fault of the EHR link (the fault proxy in front of the EHR) at `atMs`, for `durationMs`. */
export interface LinkStep {
  readonly kind: 'link';
  readonly atMs: number;
  readonly fault: ProxyFault;
  readonly durationMs: number;
}

export type ScheduleStep = EhrFaultStep | RevokeStep | DependencyStep | LinkStep;

export interface Schedule {
  readonly seed: string;
  readonly steps: readonly ScheduleStep[];
}

const SERVICES: readonly PipelineService[] = ['extractor', 'validator', 'redactor', 'loader'];
const DEPENDENCIES: readonly StackDependency[] = ['kafka', 'registry', 'postgres', 'redis'];
const RETRY_AFTER: readonly RetryAfterMode[] = ['seconds', 'http-date', 'absurd', 'epoch'];
const RECEIVERS: readonly FeedService[] = ['mllp-receiver', 'billing-receiver'];

/** The EHR link's faults the schedule draws from (the fault proxy's repertoire). */
const LINK_FAULTS: readonly ((r: Rng) => ProxyFault)[] = [
  (r) => ({ kind: 'latency', ms: r.between(50, 300), jitterMs: r.between(0, 100) }),
  (r) => ({ kind: 'bandwidth', bytesPerSecond: r.between(64, 512) * 1024 }),
  (r) => ({ kind: 'reset', probability: 0.2 + r.int(4) / 10, afterBytes: 1_000, afterBytesJitter: 100_000 }),
  () => ({ kind: 'down' }),
  (r) => ({ kind: 'flap', downMs: r.between(1_000, 3_000), upMs: r.between(2_000, 5_000) }),
  () => ({ kind: 'blackhole', existing: true }),
];

/** Every EHR fault the schedule draws from, each a function of the random source. */
const EHR_FAULTS: readonly { name: string; sets?: 'serverErrors'; draw: (r: Rng) => FaultsInput }[] = [
  {
    name: 'rate limit with wrong hints',
    sets: 'serverErrors',
    draw: (r) => ({
      serverErrors: { every: r.between(8, 20), burst: r.between(1, 3), status: 429 },
      retryAfter: RETRY_AFTER[r.int(RETRY_AFTER.length)],
    }),
  },
  {
    name: 'server errors',
    sets: 'serverErrors',
    draw: (r) => ({ serverErrors: { every: r.between(10, 25), burst: r.between(1, 2), status: 503 } }),
  },
  { name: 'connection resets', draw: (r) => ({ resetProbability: 0.05 + r.int(16) / 100 }) },
  { name: 'cuts mid-line', draw: (r) => ({ truncateProbability: 0.05 + r.int(16) / 100 }) },
  {
    name: 'bytes change between requests',
    draw: (r) => ({
      volatileFileBytes: true,
      fileValidators: (['etag', 'last-modified', 'none'] as const)[r.int(3)],
    }),
  },
  { name: 'duplicates', draw: () => ({ repeatResources: true }) },
  { name: 'error entries', draw: () => ({ exportErrorFile: true }) },
  {
    name: 'drift',
    draw: (r) =>
      r.int(2) === 0
        ? {
            drift: {
              resourceType: 'Patient',
              after: r.between(2, 20),
              mode: 'rename',
              field: 'birthDate',
              to: 'dateOfBirth',
            },
          }
        : { drift: { resourceType: 'Patient', after: r.between(2, 20), mode: 'retype', field: 'gender' } },
  },
  { name: 'latency', draw: (r) => ({ latency: { fixedMs: r.between(5, 50), randomMs: r.between(0, 200) } }) },
];

/**
 * Draws a schedule: one to three EHR faults for the whole run, maybe a token revocation, and one
 * or two dependency faults spread over the first `windowMs` (sequential, never overlapping).
 */
export function drawSchedule(seed: string, durations: FaultDurations, windowMs: number): Schedule {
  const r = new Rng(hashString(`${seed}\u0000schedule`));
  const steps: ScheduleStep[] = [];
  const pool = [...EHR_FAULTS];
  const ehrCount = r.between(1, 3);
  for (let i = 0; i < ehrCount && pool.length > 0; i++) {
    const [pick] = pool.splice(r.int(pool.length), 1);
    if (pick === undefined) continue;
    const faults = pick.draw(r);
    steps.push({ kind: 'ehr', name: pick.name, faults });
    // One burst setting at a time: a second draw of it would silently replace the first.
    if (faults.serverErrors !== undefined) {
      for (let j = pool.length - 1; j >= 0; j--) if (pool[j]?.sets === 'serverErrors') pool.splice(j, 1);
    }
  }
  let at = r.between(1_000, Math.max(1_000, Math.floor(windowMs / 4)));
  if (r.int(4) === 0) {
    const durationMs = r.between(2_000, 8_000);
    steps.push({ kind: 'revoke', atMs: at, durationMs });
    at += durationMs + 2_000;
  }
  const depCount = r.between(1, 2);
  for (let i = 0; i < depCount; i++) {
    if (r.int(2) === 0) {
      const target = r.int(5) === 0 ? SERVICES : [SERVICES[r.int(SERVICES.length)] as PipelineService];
      const durationMs = Math.max(500, Math.floor(durations.killPauseMs * (0.5 + r.next() / 2)));
      steps.push({ kind: 'kill', atMs: at, target, durationMs });
      at += durationMs + r.between(2_000, 6_000);
    } else {
      const dep = DEPENDENCIES[r.int(DEPENDENCIES.length)] as StackDependency;
      const full = {
        kafka: durations.kafkaOutageMs,
        registry: durations.registryOutageMs,
        postgres: durations.postgresOutageMs,
        redis: durations.redisOutageMs,
      }[dep];
      const durationMs = Math.max(1_000, Math.floor(full * (0.5 + r.next() / 2)));
      steps.push({ kind: 'outage', atMs: at, target: dep, durationMs });
      at += durationMs + r.between(2_000, 6_000);
    }
  }
  // Drawn after everything above, so that the steps a seed drew before these existed stay the same.
  if (r.int(2) === 0) {
    const fault = (LINK_FAULTS[r.int(LINK_FAULTS.length)] as (r: Rng) => ProxyFault)(r);
    const durationMs = Math.max(1_000, Math.floor(durations.linkOutageMs * (0.25 + r.next() / 4)));
    steps.push({ kind: 'link', atMs: at, fault, durationMs });
    at += durationMs + r.between(2_000, 6_000);
  }
  if (r.int(3) === 0) {
    const durationMs = Math.max(500, Math.floor(durations.killPauseMs * (0.5 + r.next() / 2)));
    steps.push({
      kind: 'kill',
      atMs: at,
      target: [RECEIVERS[r.int(RECEIVERS.length)] as FeedService],
      durationMs,
    });
  }
  return { seed, steps };
}

/** One line per step, PHI-free, for the console and the report. */
export function describeSchedule(schedule: Schedule): string[] {
  return schedule.steps.map((s) => {
    switch (s.kind) {
      case 'ehr':
        return `EHR: ${s.name} ${JSON.stringify(s.faults)}`;
      case 'revoke':
        return `at +${s.atMs} ms: token revocation for ${s.durationMs} ms, then the failed job resumed`;
      case 'kill':
        return `at +${s.atMs} ms: kill -9 ${(s.target as readonly string[]).join(', ')}, restart after ${s.durationMs} ms`;
      case 'outage':
        return `at +${s.atMs} ms: ${String(s.target)} stopped for ${s.durationMs} ms`;
      case 'link':
        return `at +${s.atMs} ms: EHR link ${JSON.stringify(s.fault)} for ${s.durationMs} ms`;
    }
  });
}

/** Whether the schedule makes the EHR report error entries (a `partial` job is then expected). */
export function expectsPartial(schedule: Schedule): boolean {
  return schedule.steps.some((s) => s.kind === 'ehr' && s.faults.exportErrorFile === true);
}

/** The schedule as a scenario: EHR faults from the start, the rest at their offsets. */
export function randomScenario(schedule: Schedule, index: number): Scenario {
  let proxy: FaultProxy | undefined;
  const linkSteps = schedule.steps.some((s) => s.kind === 'link');
  return {
    name: `random-${index}`,
    summary: `seed ${schedule.seed}: ${describeSchedule(schedule).join('; ')}`,
    injectAt: 0,
    acceptsPartial: expectsPartial(schedule),
    // The fault proxy is in front of the EHR only when the schedule has a link fault.
    ...(linkSteps
      ? {
          async prepare(ctx) {
            const opened = await createFaultProxy({
              target: { host: ctx.ehr.host, port: ctx.ehr.port },
              seed: schedule.seed,
            });
            proxy = opened;
            ctx.onCleanup(() => opened.close());
            ctx.useEhrUrl((url) => {
              const next = new URL(url);
              next.hostname = opened.host;
              next.port = String(opened.port);
              return next.toString();
            });
          },
        }
      : {}),
    async inject(ctx: FaultContext) {
      const started = Date.now();
      const notes: string[] = [];
      let revoked = false;
      for (const step of schedule.steps) if (step.kind === 'ehr') ctx.setEhrFaults(step.faults);
      for (const step of schedule.steps) {
        if (step.kind === 'ehr') continue;
        await ctx.sleep(Math.max(0, started + step.atMs - Date.now()));
        if (step.kind === 'revoke') {
          const client = ctx.ehrClients[0];
          if (client === undefined) continue;
          ctx.setEhrFaults({ revoke: [client] });
          await ctx.sleep(step.durationMs);
          ctx.reinstateEhrClient(client);
          revoked = true;
        } else if (step.kind === 'link') {
          if (proxy === undefined) continue;
          await proxy.apply(step.fault, step.durationMs).ended;
        } else if (step.kind === 'kill') {
          const names = step.target as readonly SuiteService[];
          for (const name of names) await ctx.killService(name);
          await ctx.sleep(step.durationMs);
          for (const name of [...names].reverse()) await ctx.restartService(name);
        } else {
          const dep = step.target as StackDependency;
          await ctx.stopDependency(dep);
          await ctx.sleep(step.durationMs);
          await ctx.startDependency(dep);
        }
      }
      ctx.clearEhrFaults();
      if (revoked) {
        // A job the revocation failed (auth, loudly, as designed) is resumed from its checkpoint,
        // as an operator would once the registration is fixed; the failure takes a moment to land.
        await ctx.sleep(3_000);
        for (const job of await ctx.jobs()) {
          if (job.state !== 'failed') continue;
          await ctx.resumeJob(job.id);
          notes.push(`job ${job.id} failed during the token revocation and was resumed`);
        }
      }
      return { faultEndedAt: Date.now(), notes };
    },
  };
}
