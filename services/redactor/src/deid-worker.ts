/**
 * The redactor's worker thread (REDACTOR_WORKERS > 0): de-identifies records the main thread
 * already decrypted, with the policy compiled here from the same policy and valid contracts
 * (`workerData`), and a patient directory that knows what the main thread sent with the task.
 * Loaded by piscina through `createDeidWorkers`; never imported by the service itself.
 */
import { workerData } from 'node:worker_threads';
import { contractOf } from '@ehrflow/contracts';
import { compilePolicy, createDeidentifier, createSnapshotDirectory } from '@ehrflow/deid';
import { PipelineError, isProgrammerError } from '@ehrflow/errors';
import { asBuffer, defineWorkerTask } from '@ehrflow/workers';
import type { DeidResult, DeidTask, DeidWorkerData, DeidReply } from './deid-workers.ts';
import { reasonOf } from './quarantine.ts';

const data = workerData as DeidWorkerData;
const pseudonymKey = asBuffer(data.pseudonymKey);
const policy = compilePolicy(
  data.policy,
  Object.fromEntries(data.contracts.map((c) => [c.type, contractOf(c.json, c.label)])),
);
const directory = createSnapshotDirectory(pseudonymKey);
let taskNow = Date.now();
let withheld: [string, string][] = [];
const deidentifier = createDeidentifier({
  policy,
  pseudonymKey,
  now: () => new Date(taskNow),
  ...(data.directory ? { directory } : {}),
  onFreeTextWithheld: (type, _field, reason) => withheld.push([type, reason]),
});

export default defineWorkerTask((task: DeidTask): DeidReply => {
  taskNow = task.now;
  withheld = [];
  const results = task.jobs.map((job): DeidResult => {
    directory.use(job.step);
    try {
      return { clean: deidentifier.deidentify(job.type, job.plain) };
    } catch (err) {
      // A record the method refuses goes back as its code and field path, never the message:
      // nothing of the record's values crosses back in an error.
      if (isProgrammerError(err) || !(err instanceof PipelineError) || reasonOf(err) === undefined) throw err;
      const fieldPath = typeof err.context.fieldPath === 'string' ? err.context.fieldPath : null;
      return { refused: { code: err.code, fieldPath } };
    }
  });
  return { results, withheld };
});
