/**
 * The HL7 v2 feed of the demo and the fault suite: the MLLP receiver as a child process and hostile senders
 * (`@ehrflow/hl7-sim`) beside the FHIR sites — early resends, a drift switch, a second facility
 * of the same application, one complete and one lying batch, and canary patients in names and
 * free text. What the senders saw ACKed is what the reconciliation must find downstream.
 */
import { join } from 'node:path';
import { loadHl7Mapping, parseHl7 } from '@ehrflow/hl7';
import { MllpSender, runFeed, seededRandom, syntheticBatch, syntheticMessage } from '@ehrflow/hl7-sim';
import type { Child } from './child.ts';
import { startReceiver, sumMetric } from './services.ts';
import { freePort, REPO_ROOT } from '@ehrflow/testing';

/** Canary patients planted in the feed: one in a clean message, one after the drift switch. */
export const HL7_CANARIES = [
  { given: 'Tamsquillo', family: 'Wexperhollin', mrn: 'HQ7731904' },
  { given: 'Orrimbeth', family: 'Glavendrasz', mrn: 'HQ7731905' },
] as const;

/** The searched values of the HL7 canaries, in a stable order. */
export function hl7CanaryValues(): string[] {
  return HL7_CANARIES.flatMap((c) => [c.given, c.family, c.mrn]);
}

/** PHI-free names of {@link hl7CanaryValues}, by index. */
export function hl7CanaryLabels(): string[] {
  return HL7_CANARIES.flatMap((_, i) => [
    `hl7 patient ${i} given`,
    `hl7 patient ${i} family`,
    `hl7 patient ${i} mrn`,
  ]);
}

/** How many messages each of the three senders sends, and where the drift starts. */
export interface Hl7Plan {
  readonly perSender: number;
  readonly driftFrom: number;
  /**
   * Messages per second per sender (messages as they arrive, spread over the run); unset: as fast
   * as the ACKs come.
   */
  readonly ratePerSecond?: number;
  /** Bound of the whole feed: resends and reconnects stop after it (default 120 s). */
  readonly deadlineMs?: number;
}

/** A modest feed that grows with the demo: 3 x 10 messages for 150 patients, at most 3 x 100. */
export function hl7Plan(patientsPerSite: number): Hl7Plan {
  const perSender = Math.max(10, Math.min(100, Math.round(patientsPerSite / 15)));
  return { perSender, driftFrom: Math.floor(perSender * 0.6) };
}

export interface Hl7Receiver {
  readonly child: Child;
  readonly port: number;
  readonly httpPort: number;
  readonly url: string;
  readonly sourceId: string;
  /** The open-ended job of the feed (the receiver's `mllp:<source>`). */
  readonly jobId: string;
}

export async function startHl7Receiver(options: {
  readonly env: NodeJS.ProcessEnv;
  readonly sourceId: string;
  readonly topics: { readonly raw: string; readonly quarantine: string };
  readonly logDir: string;
  readonly alertFile: string;
  readonly transactionalId: string;
  /** MLLP and HTTP ports; a restart passes the ports of the receiver it replaces (senders reconnect there). */
  readonly port?: number;
  readonly httpPort?: number;
}): Promise<Hl7Receiver> {
  const vars = (port: number) => ({
    MLLP_SOURCE_ID: options.sourceId,
    MLLP_PORT: String(port),
    MLLP_HOST: '127.0.0.1',
    MLLP_RAW_TOPIC: options.topics.raw,
    MLLP_QUARANTINE_TOPIC: options.topics.quarantine,
    MLLP_TRANSACTIONAL_ID: options.transactionalId,
  });
  const { port: given } = options;
  const started = await startReceiver({
    ...options,
    name: 'mllp-receiver',
    // A restart keeps its port (the senders reconnect there); a first start picks one per attempt.
    vars: given === undefined ? async () => vars(await freePort()) : vars(given),
  });
  const port = Number(started.vars.MLLP_PORT);
  return { ...started, port, sourceId: options.sourceId, jobId: `mllp:${options.sourceId}` };
}

/** What the senders saw, and what the mapping makes of what was ACKed. */
export interface Hl7FeedResult {
  /** Distinct messages sent (batch messages included). */
  readonly sent: number;
  /** Distinct messages the senders saw accepted (AA/CA), messages of an accepted batch included. */
  readonly acked: number;
  /** Messages answered AE/CE (content errors). */
  readonly rejected: number;
  readonly transientNaks: number;
  readonly reconnects: number;
  readonly batchesAccepted: number;
  /** Batches answered AE as a whole (the lying trailer). */
  readonly batchesRefused: number;
  /** ACKed messages the mapping quarantines (the drift switch). */
  readonly expectedQuarantined: number;
  /** Records the mapping makes of the other ACKed messages: what the loader should end up with. */
  readonly expectedRecords: number;
}

const SENDERS = [
  // An ADT/ORU feed that resends every fourth message before its ACK came.
  { app: 'DEMOEHR', facility: 'NORTHHOSP', prefix: 'N', resendEvery: 4 },
  // A lab whose vendor upgrade moves the birth date out of PID-7 part way through.
  { app: 'DEMOLAB', facility: 'NORTHLAB', prefix: 'L', drift: 'birthdate-moved' as const },
  // The same lab application at another facility: its own drift baseline, no drift.
  { app: 'DEMOLAB', facility: 'SOUTHLAB', prefix: 'S' },
] as const;

/** Runs the three senders and the two batches against the receiver. */
export async function runHl7Feed(port: number, plan: Hl7Plan, seed: number): Promise<Hl7FeedResult> {
  const texts = new Map<string, string>();
  const note = (c: (typeof HL7_CANARIES)[number]) =>
    `Results discussed with ${c.given} ${c.family} (record ${c.mrn}) by phone.`;
  const feeds = await Promise.all(
    SENDERS.map((s, i) =>
      runFeed({
        port,
        sendingApplication: s.app,
        controlIdPrefix: `${s.prefix}${seed % 1000}`,
        count: plan.perSender,
        seed: seed + i,
        deadlineMs: plan.deadlineMs ?? 120_000,
        ...(plan.ratePerSecond !== undefined ? { rate: plan.ratePerSecond } : {}),
        targetBytes: 1024,
        ...('resendEvery' in s ? { resendEvery: s.resendEvery } : {}),
        ...('drift' in s ? { drift: s.drift, driftFrom: plan.driftFrom } : {}),
        override: (n) => {
          // Canary 0 early in the clean feed, canary 1 after the drift switch (quarantined).
          const planted: (typeof HL7_CANARIES)[number] | undefined =
            s.prefix === 'S' && n === 1
              ? HL7_CANARIES[0]
              : s.prefix === 'L' && n === plan.driftFrom + 1
                ? HL7_CANARIES[1]
                : undefined;
          return {
            sendingFacility: s.facility,
            ...(planted === undefined
              ? {}
              : { type: 'ORU^R01' as const, patient: planted, note: note(planted) }),
          };
        },
        onMessage: (controlId, text) => texts.set(`${s.app}/${s.facility}/${controlId}`, text),
      }),
    ),
  );

  // One complete batch and one whose BTS-1 claims a message more than it holds.
  const random = seededRandom(seed + 99);
  const batchOf = (id: string) =>
    [0, 1, 2].map((n) =>
      syntheticMessage(random, {
        sendingApplication: 'DEMOBATCH',
        sendingFacility: 'NORTHHOSP',
        controlId: `${id}-${n}`,
      }),
    );
  const goodId = `B${seed % 1000}-1`;
  const badId = `B${seed % 1000}-2`;
  const good = batchOf(goodId);
  const bad = batchOf(badId);
  const deadline = Date.now() + (plan.deadlineMs ?? 120_000);
  const goodAck = await sendUntilAcked(
    port,
    syntheticBatch(good, { batchId: goodId, sendingApplication: 'DEMOBATCH', sendingFacility: 'NORTHHOSP' }),
    deadline,
  );
  const badAck = await sendUntilAcked(
    port,
    syntheticBatch(bad, {
      batchId: badId,
      sendingApplication: 'DEMOBATCH',
      sendingFacility: 'NORTHHOSP',
      declaredCount: bad.length + 1,
    }),
    deadline,
  );
  const goodAccepted = goodAck?.code === 'AA' || goodAck?.code === 'CA';
  if (goodAccepted) good.forEach((text, n) => texts.set(`DEMOBATCH/NORTHHOSP/${goodId}-${n}`, text));

  // What the mapping makes of every ACKed message (the same file the validator reads).
  const mapping = loadHl7Mapping(join(REPO_ROOT, 'schemas', 'hl7', 'v2-mapping.json'));
  const ackedKeys = new Set<string>();
  SENDERS.forEach((s, i) => {
    for (const id of feeds[i]?.acked ?? []) ackedKeys.add(`${s.app}/${s.facility}/${id}`);
  });
  if (goodAccepted) good.forEach((_, n) => ackedKeys.add(`DEMOBATCH/NORTHHOSP/${goodId}-${n}`));
  let expectedQuarantined = 0;
  let expectedRecords = 0;
  for (const key of ackedKeys) {
    const mapped = mapping.map(parseHl7(texts.get(key) ?? ''));
    if (mapped.issues.some((issue) => issue.blocking)) expectedQuarantined += 1;
    else expectedRecords += mapped.resources.length;
  }
  const sum = (f: (r: (typeof feeds)[number]) => number) => feeds.reduce((n, r) => n + f(r), 0);
  return {
    sent: texts.size + bad.length + (goodAccepted ? 0 : good.length),
    acked: ackedKeys.size,
    rejected: sum((r) => r.rejected.size),
    transientNaks: sum((r) => r.transientNaks),
    reconnects: sum((r) => r.reconnects),
    batchesAccepted: goodAccepted ? 1 : 0,
    batchesRefused: badAck?.code === 'AE' || badAck?.code === 'CE' ? 1 : 0,
    expectedQuarantined,
    expectedRecords,
  };
}

/**
 * Sends one frame and waits for its ACK; without one (the receiver went away, a connection was
 * refused) it connects again and resends until `deadline`, as a sender whose interface engine
 * retries would. Undefined when no ACK came in time.
 */
async function sendUntilAcked(
  port: number,
  frame: string,
  deadline: number,
): Promise<Awaited<ReturnType<MllpSender['send']>>> {
  while (Date.now() < deadline) {
    const sender = new MllpSender(port);
    try {
      await sender.connect();
      const ack = await sender.send(frame, 10_000);
      if (ack !== undefined) return ack;
    } catch {
      // Refused or reset: try again after a pause.
    } finally {
      await sender.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

/** What the receiver counted (its /metrics): messages written, duplicates answered again. */
export function receiverCounts(metrics: string): {
  received: number;
  duplicates: number;
  batchesRefused: number;
} {
  return {
    received: sumMetric(metrics, 'ehrflow_mllp_messages_accepted_total'),
    duplicates: sumMetric(metrics, 'ehrflow_mllp_messages_duplicate_total'),
    batchesRefused: sumMetric(
      metrics,
      'ehrflow_mllp_batches_total',
      (labels) => !labels.includes('accepted'),
    ),
  };
}
