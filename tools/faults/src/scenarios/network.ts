/**
 * The EHR link as a VPN behaves, while the backfills run at full concurrency: a TCP fault proxy
 * (@ehrflow/netfault) between the extractor and the simulated EHR for latency, bandwidth, resets,
 * outages, flapping and a black hole; a network-namespace link (veth pairs through a router
 * namespace) for real packet loss and a silent outage. The namespace scenarios need root and
 * iproute2; elsewhere they are skipped with the reason.
 */
import {
  createFaultProxy,
  createNetLink,
  netnsSupport,
  openNetnsGateway,
  type FaultProxy,
  type NetLink,
  type ProxyFault,
} from '@ehrflow/netfault';
import type { FaultContext, PrepareContext, Scenario, SourceTimeouts } from '../scenario.ts';

/**
 * The sources' timeouts in the black-hole scenario: the product's per-source settings
 * (`connectTimeoutMs`, `headersTimeoutMs`, `bodyIdleTimeoutMs` in the sources file; defaults 10,
 * 30 and 60 s), shortened so that a black hole of the link outage's length (30 s by default) outlasts
 * them: a stalled download and an unanswered request must be ended by a timeout and retried, not
 * just wait for the link to come back.
 */
export const BLACK_HOLE_TIMEOUTS = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 10_000,
  bodyIdleTimeoutMs: 10_000,
};

/** The namespace link's rate in the bandwidth scenario (tc tbf), in bit/s. */
export const BANDWIDTH_BITS = 512_000;

/** A proxy scenario: `prepare` puts the proxy in front of the EHR, `inject` runs `fault` on it. */
function viaProxy(
  name: string,
  summary: string,
  fault: (ctx: FaultContext) => { readonly fault: ProxyFault; readonly ms: number }[],
  timeouts?: SourceTimeouts,
): Scenario {
  let proxy: FaultProxy | undefined;
  return {
    name,
    summary,
    async prepare(ctx: PrepareContext) {
      if (timeouts !== undefined) ctx.useSourceTimeouts(timeouts);
      const seed = `${ctx.scenario}-${Math.floor(ctx.random() * 2 ** 32)}`;
      const opened = await createFaultProxy({ target: { host: ctx.ehr.host, port: ctx.ehr.port }, seed });
      proxy = opened;
      ctx.onCleanup(() => opened.close());
      ctx.useEhrUrl((url) => rehost(url, opened.host, opened.port));
      ctx.log(`fault proxy on ${opened.host}:${opened.port} in front of the EHR (seed ${seed})`);
    },
    async inject(ctx) {
      const p = proxy;
      if (p === undefined) throw new Error(`${name}: the proxy was not prepared`);
      const faults = fault(ctx);
      const active = faults.map((f) => p.apply(f.fault, f.ms));
      ctx.log(`${faults.map((f) => `${f.fault.kind} for ${f.ms} ms`).join(', ')}`);
      await Promise.all(active.map((a) => a.ended));
      const faultEndedAt = Date.now();
      const c = p.counters();
      return {
        faultEndedAt,
        notes: [
          `proxy: ${c.accepted} connections (at most ${c.peakActive} at once), ${c.resets} reset, ` +
            `${c.held} held in a black hole, ${c.downs} down period(s)`,
        ],
      };
    },
  };
}

/** A namespace scenario: the extractor reaches the EHR across a link whose faults `inject` drives. */
function viaNamespace(
  name: string,
  summary: string,
  fault: (link: NetLink, ctx: FaultContext) => Promise<string>,
): Scenario {
  let link: NetLink | undefined;
  return {
    name,
    summary,
    async unavailable() {
      const support = await netnsSupport();
      return support.ok ? undefined : support.reason;
    },
    async prepare(ctx) {
      const made = await createNetLink();
      link = made;
      ctx.onCleanup(() => made.destroy());
      const gateway = await openNetnsGateway(made, { host: ctx.ehr.host, port: ctx.ehr.port });
      ctx.onCleanup(() => gateway.close());
      ctx.useEhrUrl((url) => gateway.rewrite(url));
      ctx.log(
        `EHR reached across namespace ${made.name} at ${gateway.host}:${gateway.port} (loss by ${made.lossMethod})`,
      );
    },
    async inject(ctx) {
      const l = link;
      if (l === undefined) throw new Error(`${name}: the link was not prepared`);
      const before = await l.stats();
      const what = await fault(l, ctx);
      const faultEndedAt = Date.now();
      const after = await l.stats();
      return {
        faultEndedAt,
        notes: [
          `${what}: ${after.droppedPackets - before.droppedPackets} packets dropped, ` +
            `${after.nsRetransmits - before.nsRetransmits} segments retransmitted by the EHR side`,
        ],
      };
    },
  };
}

export const networkScenarios: readonly Scenario[] = [
  viaNamespace(
    'ehr-packet-loss',
    'EHR link loses 8% of its packets (real loss, TCP retransmits)',
    async (link, ctx) => {
      const loss = await link.loss(0.08, ctx.durations.linkOutageMs);
      ctx.log(`packet loss ${loss.effective} for ${ctx.durations.linkOutageMs} ms`);
      await loss.ended;
      return `loss ${loss.effective} (${link.lossMethod})`;
    },
  ),
  viaProxy(
    'ehr-latency',
    'EHR link with 150 ms latency (±50) each way and 200 ms more per connect',
    (ctx) => [
      { fault: { kind: 'latency', ms: 150, jitterMs: 50, connectMs: 200 }, ms: ctx.durations.linkOutageMs },
    ],
  ),
  viaNamespace(
    'ehr-bandwidth',
    `EHR link shaped to ${BANDWIDTH_BITS / 1000} kbit/s each way (tc tbf)`,
    async (link, ctx) => {
      await (
        await link.bandwidth(BANDWIDTH_BITS, ctx.durations.linkOutageMs)
      ).ended;
      return `tbf ${BANDWIDTH_BITS / 1000} kbit/s for ${ctx.durations.linkOutageMs} ms`;
    },
  ),
  viaProxy('ehr-resets', 'EHR connections reset mid-download (RST, one in three)', (ctx) => [
    {
      fault: { kind: 'reset', probability: 0.33, afterBytes: 1_000, afterBytesJitter: 200_000 },
      ms: ctx.durations.linkOutageMs,
    },
  ]),
  viaProxy('ehr-link-down', 'EHR link down (connections refused, open ones reset), then back', (ctx) => [
    { fault: { kind: 'down' }, ms: ctx.durations.linkOutageMs },
  ]),
  viaProxy('ehr-link-flap', 'EHR link flapping: down 2 s, up 3 s, again and again', (ctx) => [
    { fault: { kind: 'flap', downMs: 2_000, upMs: 3_000 }, ms: ctx.durations.linkOutageMs },
  ]),
  viaProxy(
    'ehr-black-hole',
    'EHR accepts connections and never answers, open downloads stall; the source timeouts (5/10/10 s) must fire',
    (ctx) => [{ fault: { kind: 'blackhole', existing: true }, ms: ctx.durations.linkOutageMs }],
    BLACK_HOLE_TIMEOUTS,
  ),
  viaNamespace(
    'ehr-link-silent',
    'EHR link drops every packet (no RST, no refusal), then back',
    async (link, ctx) => {
      await (
        await link.down(ctx.durations.linkOutageMs)
      ).ended;
      return `link silent for ${ctx.durations.linkOutageMs} ms`;
    },
  ),
];

/** `url` with its host and port replaced (path and query kept). */
function rehost(url: string, host: string, port: number): string {
  const next = new URL(url);
  next.hostname = host;
  next.port = String(port);
  return next.toString();
}
