/**
 * The HL7 v2 and billing feeds of a scenario, as they arrive: the MLLP receiver with three senders
 * pacing their messages over the run (early resends, a drift switch, batches), and the billing
 * receiver's folder getting a drop of X12 files (good, faulty, a resend) in waves. Both receivers
 * can be killed and restarted on the same ports and folder like the four services; the senders
 * reconnect and resend what was not ACKed. At the end, what the senders saw ACKed and what was
 * dropped is checked against the loader's reconciliation of the feeds' jobs.
 */
import { join } from 'node:path';
import {
  billingCanaryValues,
  billingDropTotals,
  type BillingDrop,
  type BillingReceiver,
  type Child,
  dropBillingFiles,
  hl7CanaryValues,
  type Hl7FeedResult,
  type Hl7Plan,
  type Hl7Receiver,
  type ReconcileJson,
  runHl7Feed,
  startBillingReceiver,
  startHl7Receiver,
} from '@ehrflow/pipeline-tools';

import type { FeedService } from './scenario.ts';

export const FEED_SERVICES: readonly FeedService[] = ['mllp-receiver', 'billing-receiver'];

export interface FeedsOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly topics: { readonly raw: string; readonly quarantine: string };
  /** Run tag: source ids, transactional ids. */
  readonly tag: string;
  readonly dir: string;
  readonly logDir: string;
  readonly alertFile: string;
  /** Numeric seed of the senders and the files. */
  readonly seed: number;
  /** The FHIR resources of the run: the HL7 feed grows with them. */
  readonly fhirResources: number;
  readonly patientsPerSite: number;
  /** The feeds arrive over about this long (the EHR's pace). */
  readonly paceMs: number;
  /** Bound of the senders (reconnects and resends stop after it). */
  readonly deadlineMs: number;
  /** Billing drops spread over the pace (at least 1). */
  readonly billingWaves: number;
  log(line: string): void;
}

/** What the feeds should end up as, once they are done. */
export interface FeedExpectation {
  /** Records the ACKed messages and the good billing sets map to, plus each quarantined message or set once. */
  readonly recordsIn: number;
  /** Messages and sets the drift switches should quarantine. */
  readonly quarantined: number;
  /** Records that should be loaded. */
  readonly rows: number;
}

/** The feeds' part of a scenario's row (PHI-free counts). */
export interface FeedSummary {
  readonly hl7: {
    readonly sent: number;
    readonly acked: number;
    readonly reconnects: number;
    readonly expectedRecords: number;
    readonly loadedRecords: number;
  } | null;
  readonly billing: {
    readonly files: number;
    readonly setsIn: number;
    readonly expectedRecords: number;
    readonly loadedRecords: number;
  } | null;
  readonly reconciled: boolean;
}

/**
 * Messages per sender: about one HL7 message per 100 FHIR resources (at least 10, at most 400),
 * the drift switch at 60%, paced so the feed takes about `paceMs`.
 */
export function feedPlan(fhirResources: number, paceMs: number, deadlineMs: number): Hl7Plan {
  const perSender = Math.max(10, Math.min(400, Math.round(fhirResources / 100)));
  return {
    perSender,
    driftFrom: Math.floor(perSender * 0.6),
    ratePerSecond: Math.max(0.2, perSender / Math.max(1, paceMs / 1000)),
    deadlineMs,
  };
}

/** When each billing wave is dropped, from the start of the feeds. */
export function billingWaveTimes(waves: number, paceMs: number): number[] {
  const n = Math.max(1, waves);
  return Array.from({ length: n }, (_, i) => Math.floor((paceMs * i) / n));
}

export interface Feeds {
  readonly hl7SourceId: string;
  readonly billingSourceId: string;
  /** Starts both receivers (before the backfills). */
  start(): Promise<void>;
  /** Starts the senders and the billing waves in the background. */
  begin(): void;
  /** True once the senders are done and every wave is dropped. */
  done(): boolean;
  child(name: FeedService): Child | undefined;
  kill(name: FeedService): Promise<void>;
  restart(name: FeedService): Promise<void>;
  /** Every job of the feeds: the MLLP job and every dropped file's. */
  jobIds(): string[];
  /** Jobs whose records are loaded (the MLLP job, good files). */
  loadJobIds(): string[];
  /** Only meaningful once `done()`. */
  expectation(): FeedExpectation;
  /** Checks the feeds against the loader's reconciliation; PHI-free lines into `problems`. */
  check(results: ReadonlyMap<string, ReconcileJson>, problems: string[]): FeedSummary;
  /** The canary values the feeds plant (for the leak scan). */
  canaries(): string[];
  /** Stops the receivers (by pid) and waits for the senders. */
  stop(): Promise<void>;
}

export function createFeeds(options: FeedsOptions): Feeds {
  const hl7SourceId = `${options.tag}-hl7`;
  const billingSourceId = `${options.tag}-x12`;
  const plan = feedPlan(options.fhirResources, options.paceMs, options.deadlineMs);
  let hl7: Hl7Receiver | undefined;
  let billing: BillingReceiver | undefined;
  let hl7Result: Hl7FeedResult | null = null;
  let hl7Done = false;
  const drops: BillingDrop[] = [];
  let wavesDone = false;
  let running: Promise<unknown> = Promise.resolve();
  let stopped = false;
  const sendProblems: string[] = [];
  const waveTimes = billingWaveTimes(options.billingWaves, options.paceMs);

  const startMllp = async (ports?: { port: number; httpPort: number }): Promise<Hl7Receiver> =>
    startHl7Receiver({
      env: options.env,
      sourceId: hl7SourceId,
      topics: options.topics,
      logDir: options.logDir,
      alertFile: options.alertFile,
      transactionalId: `${options.tag}-mllp`,
      ...(ports ?? {}),
    });
  const startBilling = async (httpPort?: number): Promise<BillingReceiver> =>
    startBillingReceiver({
      env: options.env,
      sourceId: billingSourceId,
      topics: options.topics,
      dir: join(options.dir, 'x12'),
      logDir: options.logDir,
      alertFile: options.alertFile,
      transactionalId: `${options.tag}-x12`,
      ...(httpPort === undefined ? {} : { httpPort }),
    });

  return {
    hl7SourceId,
    billingSourceId,
    async start() {
      [hl7, billing] = await Promise.all([startMllp(), startBilling()]);
      options.log(
        `feeds: mllp-receiver on ${hl7.port} (3 senders x ${plan.perSender} messages at ` +
          `${(plan.ratePerSecond ?? 0).toFixed(2)}/s each, drift from ${plan.driftFrom}, 2 batches), ` +
          `billing-receiver on a folder (${waveTimes.length} drop(s) of 9 files)`,
      );
    },
    begin() {
      const port = hl7?.port;
      if (port === undefined) throw new Error('the feeds were not started');
      const sending = runHl7Feed(port, plan, options.seed)
        .then((r) => {
          hl7Result = r;
        })
        .catch((err: unknown) => {
          sendProblems.push(`the HL7 feed failed (${err instanceof Error ? err.name : 'error'})`);
        })
        .finally(() => {
          hl7Done = true;
        });
      const dropping = (async () => {
        const began = Date.now();
        for (const [i, at] of waveTimes.entries()) {
          const wait = began + at - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          if (stopped) break;
          const target = billing;
          if (target === undefined) break;
          // The folder outlives a killed receiver: files dropped meanwhile wait for its restart.
          drops.push(
            await dropBillingFiles(target, options.patientsPerSite, options.seed + 10 * (i + 1), `w${i}-`),
          );
        }
      })()
        .catch(() => sendProblems.push('a billing drop failed'))
        .finally(() => {
          wavesDone = true;
        });
      running = Promise.all([sending, dropping]);
    },
    done: () => hl7Done && wavesDone,
    child: (name) => (name === 'mllp-receiver' ? hl7?.child : billing?.child),
    async kill(name) {
      const child = name === 'mllp-receiver' ? hl7?.child : billing?.child;
      if (child === undefined) return;
      if (child.running()) process.kill(child.pid, 'SIGKILL');
      await child.exited;
    },
    async restart(name) {
      if (name === 'mllp-receiver') {
        const old = hl7;
        hl7 = await startMllp(old === undefined ? undefined : { port: old.port, httpPort: old.httpPort });
      } else {
        billing = await startBilling(billing?.httpPort);
      }
    },
    jobIds() {
      return [
        `mllp:${hl7SourceId}`,
        ...drops.flatMap((d) => [...d.acceptedJobs, ...d.refused.map((r) => r.jobId), d.duplicateJob]),
      ];
    },
    loadJobIds() {
      return [`mllp:${hl7SourceId}`, ...drops.flatMap((d) => d.acceptedJobs)];
    },
    expectation() {
      const h = hl7Result;
      const hl7Rows = h?.expectedRecords ?? 0;
      const hl7Quarantined = h?.expectedQuarantined ?? 0;
      const billingRows = drops.reduce((n, d) => n + d.expectedRecords, 0);
      const billingQuarantined = drops.reduce((n, d) => n + d.expectedQuarantined, 0);
      return {
        recordsIn: hl7Rows + hl7Quarantined + billingRows + billingQuarantined,
        quarantined: hl7Quarantined + billingQuarantined,
        rows: hl7Rows + billingRows,
      };
    },
    check(results, problems) {
      problems.push(...sendProblems);
      const before = problems.length;
      const h = hl7Result;
      const mllp = results.get(`mllp:${hl7SourceId}`);
      const m = mllp?.messages;
      const loadedOf = (r: ReconcileJson | undefined): number => {
        const count = r?.rows?.find((row) => row.stage === 'loaded')?.count;
        return typeof count === 'number' ? count : 0;
      };
      const hl7Loaded = loadedOf(mllp);
      if (h === null) problems.push('HL7: the senders did not finish');
      else {
        // A kill -9 resets the receiver's own counters: the loader's reconciliation is the ledger.
        if (mllp?.reconciled !== true) problems.push('HL7: the feed job does not reconcile stage by stage');
        if (m === undefined) problems.push('HL7: no message counts in the reconciliation');
        else {
          if (m.raw !== h.acked) problems.push(`HL7: raw ${m.raw} messages != ACKed ${h.acked}`);
          if (m.valid + m.quarantined !== m.raw || m.clean !== m.valid || m.loaded !== m.clean)
            problems.push(
              `HL7: messages raw ${m.raw}, valid ${m.valid}, quarantined ${m.quarantined}, clean ${m.clean}, loaded ${m.loaded}`,
            );
          if (m.quarantined !== h.expectedQuarantined)
            problems.push(
              `HL7: ${m.quarantined} messages quarantined, the drift switch makes ${h.expectedQuarantined}`,
            );
        }
        if (hl7Loaded !== h.expectedRecords)
          problems.push(`HL7: ${hl7Loaded} records loaded, the ACKed messages map to ${h.expectedRecords}`);
      }
      const { totals, duplicateRaw } = billingDropTotals(drops, results);
      const setsIn = drops.reduce((n, d) => n + d.setsIn, 0);
      const billingExpected = drops.reduce((n, d) => n + d.expectedRecords, 0);
      if (drops.length === 0) problems.push('billing: no files were dropped');
      else if (totals === null) problems.push('billing: the file jobs were not reconciled');
      else {
        if (!totals.reconciled) problems.push(`billing: ${totals.gaps.join('; ')}`);
        if (totals.raw !== setsIn)
          problems.push(`billing: raw ${totals.raw} sets != ${setsIn} in good files`);
        const quarantined = drops.reduce((n, d) => n + d.expectedQuarantined, 0);
        if (totals.quarantined !== quarantined)
          problems.push(
            `billing: ${totals.quarantined} sets quarantined, the drift switch makes ${quarantined}`,
          );
        if (totals.loadedRecords !== billingExpected)
          problems.push(
            `billing: ${totals.loadedRecords} claims/payments loaded, the good sets hold ${billingExpected}`,
          );
        const refused = drops.reduce((n, d) => n + d.refused.length, 0);
        if (totals.refusedFiles !== refused)
          problems.push(`billing: ${totals.refusedFiles} files refused, ${refused} faulty files dropped`);
        if (duplicateRaw !== 0)
          problems.push(`billing: a resent interchange was written again (${duplicateRaw} raw)`);
      }
      return {
        hl7:
          h === null
            ? null
            : {
                sent: h.sent,
                acked: h.acked,
                reconnects: h.reconnects,
                expectedRecords: h.expectedRecords,
                loadedRecords: hl7Loaded,
              },
        billing:
          drops.length === 0
            ? null
            : {
                files: drops.reduce((n, d) => n + d.files, 0),
                setsIn,
                expectedRecords: billingExpected,
                loadedRecords: totals?.loadedRecords ?? 0,
              },
        reconciled: problems.length === before && sendProblems.length === 0,
      };
    },
    canaries: () => [...hl7CanaryValues(), ...billingCanaryValues()],
    async stop() {
      stopped = true;
      await hl7?.child.stop(10_000);
      await billing?.child.stop(10_000);
      // Senders still retrying (a run cut short) end by their own deadline; not waited for past 5 s.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        running.catch(() => undefined),
        new Promise((r) => {
          timer = setTimeout(r, 5_000);
        }),
      ]);
      clearTimeout(timer);
    },
  };
}
