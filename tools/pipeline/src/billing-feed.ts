/**
 * The billing feed of the demo and the fault suite: the billing receiver as a child process on a watched folder, and a drop
 * of files from `@ehrflow/x12-sim` beside the FHIR sites and the HL7 feed — good 837P (with
 * dependents in a patient loop 2000C), 837I and 835 files, one with odd delimiters, a sender's
 * drift switch, every envelope fault (a cut file, wrong SE/GE/IEA counts, SE02 ≠ ST02) and a
 * duplicate interchange, with canary values planted in one subscriber's NM1/N3/REF. What was
 * dropped is what the reconciliation must find downstream, per transaction set.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { billingTotals, type BillingTotals, type ReconcileResult } from '@ehrflow/loader';
import type { ReconcileJson } from './reconcile-cli.ts';
import { startChild, type Child } from './child.ts';
import { serviceRuntimeEnv, sumMetric, waitForServiceReady } from './services.ts';
import { freePort, REPO_ROOT } from '@ehrflow/testing';
import {
  ODD_DELIMITERS,
  syntheticInterchange,
  type FileFault,
  type InterchangeOptions,
} from '@ehrflow/x12-sim';

/** Canary values planted in one claim's subscriber (synthetic, unique to the demo). */
export const BILLING_CANARY = {
  family: 'Vorthangelis',
  given: 'Ilberquine',
  memberId: 'CNRY40731986',
  street: '77 Quibbleforth Crescent',
  ssn: '914402657',
} as const;

/** The searched values of the billing canary, in a stable order. */
export function billingCanaryValues(): string[] {
  return Object.values(BILLING_CANARY);
}

/** PHI-free names of {@link billingCanaryValues}, by index. */
export function billingCanaryLabels(): string[] {
  return Object.keys(BILLING_CANARY).map((field) => `x12 subscriber ${field}`);
}

export interface BillingReceiver {
  readonly child: Child;
  readonly httpPort: number;
  readonly url: string;
  readonly sourceId: string;
  readonly inbox: string;
  readonly outbox: string;
}

export async function startBillingReceiver(options: {
  readonly env: NodeJS.ProcessEnv;
  readonly sourceId: string;
  readonly topics: { readonly raw: string; readonly quarantine: string };
  readonly dir: string;
  readonly logDir: string;
  readonly alertFile: string;
  readonly transactionalId: string;
  /** HTTP port; a restart passes the port of the receiver it replaces. */
  readonly httpPort?: number;
}): Promise<BillingReceiver> {
  const inbox = join(options.dir, 'inbox');
  const outbox = join(options.dir, 'outbox');
  await mkdir(inbox, { recursive: true });
  const httpPort = options.httpPort ?? (await freePort());
  const child = await startChild({
    name: 'billing-receiver',
    args: [join(REPO_ROOT, 'services', 'billing-receiver', 'src', 'main.ts')],
    env: {
      ...options.env,
      ...serviceRuntimeEnv('billing-receiver', options.env),
      HTTP_PORT: String(httpPort),
      X12_SOURCE_ID: options.sourceId,
      X12_INBOX_DIR: inbox,
      X12_OUTBOX_DIR: outbox,
      X12_POLL_MS: '300',
      X12_REQUIRE_MARKER: 'true',
      X12_RAW_TOPIC: options.topics.raw,
      X12_QUARANTINE_TOPIC: options.topics.quarantine,
      X12_TRANSACTIONAL_ID: options.transactionalId,
      ALERT_FILE: options.alertFile,
    },
    logFile: join(options.logDir, 'billing-receiver.log'),
    cwd: REPO_ROOT,
  });
  const url = `http://127.0.0.1:${httpPort}`;
  await waitForServiceReady({ name: 'billing-receiver', url, child }, 60_000, options.logDir);
  return { child, httpPort, url, sourceId: options.sourceId, inbox, outbox };
}

/** What was dropped and what the pipeline should make of it. */
export interface BillingDrop {
  /** Files the receiver should take in, with their jobs (`x12:<source>:<digest>`). */
  readonly acceptedJobs: readonly string[];
  /** Files each with one envelope fault: refused whole. */
  readonly refused: readonly { readonly jobId: string; readonly fault: FileFault }[];
  /** The duplicate interchange's job: nothing may be written for it. */
  readonly duplicateJob: string;
  readonly files: number;
  /** Transaction sets in the accepted files. */
  readonly setsIn: number;
  readonly claimsIn: number;
  /** Sets the drift switch should quarantine. */
  readonly expectedQuarantined: number;
  /** Claims and payments the valid sets map to: what the loader should end up with. */
  readonly expectedRecords: number;
}

const FAULTS: readonly FileFault[] = ['cut', 'se-count', 'ge-count', 'iea-count', 'se-control'];

/**
 * Drops the files (each followed by its `.done` marker) in name order, so the receiver takes the
 * duplicate after the file it duplicates. Sizes grow a little with the demo. Several drops into
 * one inbox (files as they arrive) each take their own `namePrefix` and a seed at least 1 apart
 * (control numbers are 10 apart per seed).
 */
export async function dropBillingFiles(
  receiver: Pick<BillingReceiver, 'inbox' | 'sourceId'>,
  patientsPerSite: number,
  seed: number,
  namePrefix = '',
): Promise<BillingDrop> {
  const sets = Math.max(4, Math.min(40, Math.round(patientsPerSite / 30)));
  const good: InterchangeOptions['groups'] = [
    { kind: '837P', sets, claimsPerSet: 2, dependentShare: 0.3 },
    { kind: '837I', sets: Math.ceil(sets / 2), dependentShare: 0.3 },
    { kind: '835', sets: Math.ceil(sets / 2), claimsPerSet: 2 },
  ];
  const base = 500_000 + (seed % 100_000) * 10;
  const driftFrom = Math.floor(sets / 2);
  const plan: { name: string; options: InterchangeOptions; role: 'accepted' | 'refused' | 'duplicate' }[] = [
    {
      name: '01-claims.x12',
      role: 'accepted',
      options: { seed, controlNumber: base + 1, groups: good, plant: { set: 0, ...BILLING_CANARY } },
    },
    {
      name: '02-claims-odd.edi',
      role: 'accepted',
      options: { seed: seed + 1, controlNumber: base + 2, groups: good, delimiters: ODD_DELIMITERS },
    },
    {
      name: '03-drift.x12',
      role: 'accepted',
      options: {
        seed: seed + 2,
        controlNumber: base + 3,
        senderId: 'SIMUPGRADED',
        groups: [{ kind: '837P', sets, claimsPerSet: 2 }],
        drift: { kind: 'required-empty', from: driftFrom },
      },
    },
    ...FAULTS.map((fault, i) => ({
      name: `0${4 + i}-${fault}.x12`,
      role: 'refused' as const,
      options: { seed: seed + 3 + i, controlNumber: base + 4 + i, groups: good, fault },
    })),
    // The same sender and ISA13 as 01, other content: a resend the receiver must not write again.
    {
      name: '09-resend-of-01.x12',
      role: 'duplicate',
      options: { seed: seed + 9, controlNumber: base + 1, groups: good },
    },
  ];
  const jobOf = (bytes: Buffer) =>
    `x12:${receiver.sourceId}:${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
  const acceptedJobs: string[] = [];
  const refused: { jobId: string; fault: FileFault }[] = [];
  let duplicateJob = '';
  let setsIn = 0;
  let claimsIn = 0;
  let expectedQuarantined = 0;
  let expectedRecords = 0;
  for (const p of plan) {
    const file = syntheticInterchange(p.options);
    const name = `${namePrefix}${p.name}`;
    await writeFile(join(receiver.inbox, name), file.bytes);
    await writeFile(join(receiver.inbox, `${name}.done`), '');
    if (p.role === 'refused') refused.push({ jobId: jobOf(file.bytes), fault: p.options.fault ?? 'none' });
    if (p.role === 'duplicate') duplicateJob = jobOf(file.bytes);
    if (p.role !== 'accepted') continue;
    acceptedJobs.push(jobOf(file.bytes));
    for (const [i, set] of file.sets.entries()) {
      setsIn += 1;
      claimsIn += set.claims.length;
      if (p.options.drift !== undefined && i >= p.options.drift.from) expectedQuarantined += 1;
      else expectedRecords += set.claims.length;
    }
  }
  return {
    acceptedJobs,
    refused,
    duplicateJob,
    files: plan.length,
    setsIn,
    claimsIn,
    expectedQuarantined,
    expectedRecords,
  };
}

/** What the receiver counted (its /metrics). */
export function billingReceiverCounts(metrics: string): {
  accepted: number;
  rejected: number;
  duplicates: number;
  setsWritten: number;
} {
  const files = (outcome: string) =>
    sumMetric(metrics, 'ehrflow_x12_files_total', (labels) => labels.includes(`"${outcome}"`));
  return {
    accepted: files('accepted'),
    rejected: files('rejected'),
    duplicates: files('duplicate'),
    setsWritten: sumMetric(metrics, 'ehrflow_x12_transaction_sets_total', (labels) =>
      labels.includes('"written"'),
    ),
  };
}

/** The billing feed's part of the demo report. */
export interface BillingDemoReport {
  readonly sourceId: string;
  readonly drop: BillingDrop | null;
  readonly receiver: ReturnType<typeof billingReceiverCounts>;
  readonly totals: BillingTotals | null;
  /** Refused files: the fault planted and the reason the receiver gave (PHI-free). */
  readonly refused: readonly { readonly fault: string; readonly reason: string }[];
  /** TA1 and 999 files written to the outbox. */
  readonly acks: { readonly ta1: number; readonly ack999: number };
  readonly reconciled: boolean;
}

/** Acknowledgment files in the outbox. */
export async function countAcks(outbox: string): Promise<{ ta1: number; ack999: number }> {
  const names = await readdir(outbox).catch(() => [] as string[]);
  return {
    ta1: names.filter((n) => n.endsWith('.ta1')).length,
    ack999: names.filter((n) => n.endsWith('.999')).length,
  };
}

/**
 * The billing identity, checked: sets in (dropped) = written (receiver) = raw = valid +
 * quarantined = clean = loaded; every faulty file refused with a reason; one TA1 per file (the
 * cut one included) and a 999 per file whose groups were read; the duplicate written nowhere.
 */
export function billingReconciliation(input: {
  readonly sourceId: string;
  readonly drop: BillingDrop | null;
  readonly metrics: string;
  readonly totals: BillingTotals | null;
  readonly reasons: ReadonlyMap<string, string>;
  readonly acks: { ta1: number; ack999: number };
  readonly duplicateRaw: number;
  readonly problems: string[];
}): BillingDemoReport {
  const { drop, totals } = input;
  const receiver = billingReceiverCounts(input.metrics);
  const refused = (drop?.refused ?? []).map((r) => ({
    fault: r.fault,
    reason: input.reasons.get(r.jobId) ?? '(no quarantine record)',
  }));
  const checks: [boolean, string][] = [
    [drop !== null, 'the billing files were not dropped'],
    [totals !== null, 'the billing file jobs were not reconciled'],
    [
      drop !== null && receiver.setsWritten === drop.setsIn,
      `X12: receiver wrote ${receiver.setsWritten} sets, ${drop?.setsIn ?? '-'} dropped in good files`,
    ],
    [
      drop !== null && totals !== null && totals.raw === drop.setsIn,
      `X12: raw ${totals?.raw ?? '-'} != in ${drop?.setsIn ?? '-'} transaction sets`,
    ],
    [totals?.reconciled === true, `X12: ${totals?.gaps.join('; ') ?? 'no totals'}`],
    [
      drop !== null && totals !== null && totals.quarantined === drop.expectedQuarantined,
      `X12: ${totals?.quarantined ?? '-'} sets quarantined, the drift switch should quarantine ${drop?.expectedQuarantined ?? '-'}`,
    ],
    [
      drop !== null && totals !== null && totals.loadedRecords === drop.expectedRecords,
      `X12: ${totals?.loadedRecords ?? '-'} claims/payments loaded, the valid sets hold ${drop?.expectedRecords ?? '-'}`,
    ],
    [
      drop !== null &&
        totals?.refusedFiles === drop.refused.length &&
        receiver.rejected === drop.refused.length,
      `X12: ${totals?.refusedFiles ?? '-'} files refused, ${drop?.refused.length ?? '-'} faulty files dropped`,
    ],
    [refused.every((r) => /^[a-z_]+ at /.test(r.reason)), 'X12: a refused file has no reason in quarantine'],
    [
      drop !== null && input.acks.ta1 === drop.files,
      `X12: ${input.acks.ta1} TA1 written for ${drop?.files ?? '-'} files`,
    ],
    [receiver.duplicates === 1 && input.duplicateRaw === 0, 'X12: the resent interchange was written again'],
  ];
  for (const [ok, problem] of checks) if (!ok) input.problems.push(problem);
  return {
    sourceId: input.sourceId,
    drop,
    receiver,
    totals,
    refused,
    acks: input.acks,
    reconciled: checks.every(([ok]) => ok),
  };
}

/**
 * The loader's reconciliation of the drops' good and faulty file jobs, summed per transaction set
 * (`billingTotals`), and the raw records written for the resent interchanges (0 when the receiver
 * refused every resend as a duplicate). Totals are null when no file job was reconciled.
 */
export function billingDropTotals(
  drops: readonly BillingDrop[],
  results: ReadonlyMap<string, ReconcileJson>,
): { readonly totals: BillingTotals | null; readonly duplicateRaw: number } {
  const files = drops
    .flatMap((d) => [...d.acceptedJobs, ...d.refused.map((r) => r.jobId)])
    .map((id) => results.get(id))
    .filter((r) => r !== undefined);
  let duplicateRaw = 0;
  for (const d of drops) {
    const raw = results.get(d.duplicateJob)?.rows?.find((row) => row.stage === 'raw')?.count;
    duplicateRaw += typeof raw === 'number' ? raw : 0;
  }
  // ReconcileJson is the loader's ReconcileResult as `reconcile --json` prints it.
  return {
    totals: files.length === 0 ? null : billingTotals(files as unknown as ReconcileResult[]),
    duplicateRaw,
  };
}
