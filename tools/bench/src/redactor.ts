/**
 * Redactor throughput, in process, no Kafka: ~1.5 KB FHIR resources (Patient, Observation and
 * Condition with a free-text note), mapped and PHI-encrypted as the validator writes them, then
 * 1. de-identified (policy applied to decrypted records: the de-identification step),
 * 2. decrypted and de-identified,
 * 3. decrypted, de-identified and Avro-encoded with the clean schema (all per-record CPU work of
 *    the service);
 * 4. de-identified on a "replica" that knows the patients only through the shared directory's
 *    digests (notes matched by keyed hash; no Redis here, an in-memory store).
 * Prints records per second and CPU microseconds per record for each; asserts nothing.
 * Run: npm run bench:redactor -- [seconds] [--only TEXT] [--distinct-notes]
 * `--only TEXT`: only the figures whose label contains TEXT (e.g. `--only 'de-identify (decrypted'`;
 * comparing versions one figure at a time is quicker). `--distinct-notes`: 3,000 patients (9,000
 * records) instead of 300, whose narratives are the paragraph's sentences in a different order
 * each, so no narrative recurs within thousands of records and the de-identifier's memos of
 * recurring texts cannot serve them (by default every record carries the same paragraph).
 */
import { parseAvro } from '@ehrflow/contracts';
import {
  createDeidentifier,
  createPatientDirectory,
  createSharedPatientDirectory,
  loadPolicy,
  type DirectoryStore,
} from '@ehrflow/deid';
import { createKeyring } from '@ehrflow/phi';
import { createDecryptor, planCleanSchemas } from '@ehrflow/redactor';
import {
  TEST_TYPES,
  contractJson,
  fakeRegistry,
  people,
  resourceOf,
  validRecord,
  type TestType,
} from '@ehrflow/redactor/testing/fixtures.ts';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm run bench:redactor -- [seconds (3)] [--only TEXT] [--distinct-notes]

Redactor throughput in process, no Kafka: de-identify; decrypt and de-identify; decrypt,
de-identify and Avro-encode; de-identify through the shared directory's digests. Prints records/s
and CPU µs per record for each. --only TEXT: only the figures whose label contains TEXT.
--distinct-notes: 3,000 patients whose notes never recur (the text memos cannot serve them).`);
  process.exit(0);
}
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const distinctNotes = args.includes('--distinct-notes');
const seconds = Number(args.find((a, i) => !a.startsWith('--') && (onlyAt < 0 || i !== onlyAt + 1)) ?? '3');
const ring = createKeyring([
  ['k1', Buffer.alloc(32, 1)],
  ['k2', Buffer.alloc(32, 2)],
]);
const types = [...TEST_TYPES];
const { registry, add } = fakeRegistry();
for (const type of types) add(`ehr.valid.${type}-value`, contractJson(type));
const plan = await planCleanSchemas(registry, {
  types,
  topics: { validPrefix: 'ehr.valid.', cleanPrefix: 'ehr.clean.' },
  policy: loadPolicy(process.env.REDACTOR_POLICY ?? 'safe-harbor'),
});
const pseudonymKey = Buffer.alloc(32, 7);
const deidentifier = createDeidentifier({
  policy: plan.policy,
  pseudonymKey,
  directory: createPatientDirectory(100_000),
});
/** A store in memory: what Redis would hold for the shared directory. */
const stored = new Map<string, string[]>();
const store: DirectoryStore = {
  fetch: (keys) => Promise.resolve(keys.map((k) => stored.get(k) ?? [])),
  add: (entries) => {
    for (const [k, v] of entries) stored.set(k, [...new Set([...(stored.get(k) ?? []), ...v])]);
    return Promise.resolve();
  },
};
const sharing = (): {
  directory: ReturnType<typeof createSharedPatientDirectory>;
  deid: typeof deidentifier;
} => {
  const directory = createSharedPatientDirectory({
    local: createPatientDirectory(100_000),
    store,
    pseudonymKey,
  });
  return { directory, deid: createDeidentifier({ policy: plan.policy, pseudonymKey, directory }) };
};
const decryptors = new Map(
  [...plan.types].map(([type, t]) => [type, createDecryptor(t.valid.contract, ring)]),
);
const cleanTypes = new Map([...plan.types].map(([type, t]) => [type, parseAvro(t.cleanSchema, type)]));

interface Sample {
  readonly type: TestType;
  readonly encrypted: Record<string, unknown>;
  readonly plain: Record<string, unknown>;
}
/** A clinical paragraph that brings Observation and Condition resources to ~1.5 KB. */
const NARRATIVE =
  'Subjective: patient reports intermittent fatigue over the last three weeks, worse in the ' +
  'afternoons, no fever, no night sweats, appetite preserved. Denies chest pain or dyspnoea on ' +
  'exertion. Objective: alert and oriented, mucous membranes slightly pale, heart sounds regular ' +
  'without murmur, lungs clear bilaterally. Hb 11.2 g/dL (ref 12-16), MCV 78 fL, ferritin low. ' +
  'Assessment: mild microcytic anaemia, likely iron deficiency. Plan: oral iron 65 mg elemental ' +
  'daily with vitamin C, repeat CBC and ferritin in 6 weeks, dietary advice given, return sooner ' +
  'if symptoms worsen. Discussed with the attending, who agrees with the plan and follow-up.';

const SENTENCES = NARRATIVE.split(/(?<=\.) /);
let narratives = 0;
/** The paragraph, or with `--distinct-notes` its sentences in the next of their orders. */
function narrative(): string {
  if (!distinctNotes) return NARRATIVE;
  // The n-th permutation of the sentences (factorial number system): distinct for n < 7!.
  const rest = [...SENTENCES];
  const order: string[] = [];
  for (let n = narratives++ % 5040; rest.length > 0; n = Math.floor(n / (rest.length + 1)))
    order.push(...rest.splice(n % rest.length, 1));
  return order.join(' ');
}

const samples: Sample[] = [];
let resourceBytes = 0;
for (const p of people(distinctNotes ? 3_000 : 300, 'site-a', 'b')) {
  for (const type of types) {
    const resource = resourceOf(type, p, 1);
    if (type !== 'Patient')
      resource.note = [...(resource.note as object[]), { text: narrative() }, { text: narrative() }];
    resourceBytes += Buffer.byteLength(JSON.stringify(resource));
    const { plain, encrypted } = validRecord(type, resource, p.sourceId, ring);
    samples.push({ type, encrypted, plain: { ...plain } });
  }
}

function measure(label: string, work: (s: Sample) => void, set: readonly Sample[] = samples): void {
  if (only !== undefined && !label.includes(only)) return;
  for (const s of set.slice(0, 500)) work(s); // warm-up
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  const cpu = process.cpuUsage();
  while (performance.now() < deadline) {
    for (let i = 0; i < 100; i += 1) work(set[(n + i) % set.length] as Sample);
    n += 100;
  }
  const elapsed = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  // CPU per record as well: on a shared machine, records/s also measures the neighbours.
  const cpuPerRecord = (used.user + used.system) / n;
  process.stdout.write(
    `${label.padEnd(44)} ${Math.round(n / elapsed)
      .toLocaleString('en-US')
      .padStart(9)} records/s ${cpuPerRecord.toFixed(1).padStart(8)} µs CPU/record\n`,
  );
}

process.stdout.write(
  `redactor bench: policy ${plan.policy.name}, ${samples.length} distinct records${distinctNotes ? ` (${Math.min(narratives, 5040)} distinct narratives)` : ''} (${types.join(', ')}), ` +
    `mean FHIR resource ${Math.round(resourceBytes / samples.length)} bytes, ${seconds}s per figure, node ${process.version}\n`,
);
measure('de-identify (decrypted records)', (s) => {
  deidentifier.deidentify(s.type, s.plain);
});
measure('decrypt + de-identify', (s) => {
  deidentifier.deidentify(
    s.type,
    (decryptors.get(s.type) as (r: Record<string, unknown>) => Record<string, unknown>)(s.encrypted),
  );
});
const replicaA = sharing();
for (const s of samples) if (s.type === 'Patient') replicaA.deid.deidentify(s.type, s.plain);
await replicaA.directory.flush();
const replicaB = sharing();
const subjects = samples.flatMap((s) => replicaB.deid.directorySubject(s.type, s.plain) ?? []);
await replicaB.directory.prefetch(subjects);
const clinical = samples.filter((s) => s.type !== 'Patient');
let withheld = 0;
const probe = createDeidentifier({
  policy: plan.policy,
  pseudonymKey,
  directory: replicaB.directory,
  onFreeTextWithheld: () => (withheld += 1),
});
for (const s of clinical) probe.deidentify(s.type, s.plain);
if (withheld > 0) throw new Error('bench set-up: the shared directory did not know every patient');
measure(
  'de-identify clinical, patients in memory',
  (s) => {
    deidentifier.deidentify(s.type, s.plain);
  },
  clinical,
);
measure(
  'de-identify clinical, patients only as digests',
  (s) => {
    replicaB.deid.deidentify(s.type, s.plain);
  },
  clinical,
);
measure('decrypt + de-identify + Avro encode', (s) => {
  const clean = deidentifier.deidentify(
    s.type,
    (decryptors.get(s.type) as (r: Record<string, unknown>) => Record<string, unknown>)(s.encrypted),
  );
  cleanTypes.get(s.type)?.toBuffer(clean);
});
