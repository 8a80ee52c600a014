/**
 * The validator's worker thread (VALIDATOR_WORKERS > 0): decrypt → parse → map → check → seal
 * PHI fields for FHIR envelopes, with its own registry client and contract cache (same registry,
 * same refresh period as the main thread). Fill-rate windows are not observed here: they count
 * records in order per process, so the main thread does it when the outcomes come back.
 * Loaded by piscina through `createValidateWorkers`; never imported by the service itself.
 */
import { workerData } from 'node:worker_threads';
import { createCodec, createRegistry } from '@ehrflow/contracts';
import { parseKeyring } from '@ehrflow/phi';
import { asBuffer, defineWorkerTask } from '@ehrflow/workers';
import { topicsOf } from './config.ts';
import { createContractCache } from './contract-cache.ts';
import { loadDeletionContract } from './deletion.ts';
import type { RecordValidator } from './validate-record.ts';
import { createRecordValidator } from './validate-record.ts';
import type { ValidateTask, ValidateWorkerData, WorkerOutcome } from './validate-workers.ts';

const data = workerData as ValidateWorkerData;
let validator: Promise<RecordValidator> | undefined;

async function build(): Promise<RecordValidator> {
  const { config } = data;
  const topics = topicsOf(config);
  const registry = createRegistry({ url: config.SCHEMA_REGISTRY_URL });
  const codec = createCodec(registry, { refreshMs: config.VALIDATOR_SCHEMA_REFRESH_MS });
  const contracts = createContractCache({
    source: codec,
    validTopicPrefix: topics.validPrefix,
    resourceTypes: config.VALIDATOR_RESOURCE_TYPES,
    fillRateWindow: config.VALIDATOR_FILL_RATE_WINDOW,
  });
  return createRecordValidator({
    keyring: parseKeyring(config.PHI_KEYRING),
    contracts,
    deletions: await loadDeletionContract(codec, topics.deletions),
    maxPayloadBytes: config.VALIDATOR_MAX_PAYLOAD_BYTES,
    fillRate: false,
  });
}

function ready(): Promise<RecordValidator> {
  // A failed start (registry unreachable) is retried with the next chunk.
  validator ??= build().catch((err: unknown) => {
    validator = undefined;
    throw err;
  });
  return validator;
}

export default defineWorkerTask(
  async (task: ValidateTask): Promise<WorkerOutcome[]> => {
    const v = await ready();
    const out: WorkerOutcome[] = [];
    for (const input of task.inputs) {
      const outcome = await v.validate({
        ...input,
        envelope: { ...input.envelope, payload: asBuffer(input.envelope.payload) },
      });
      // The live contract stays here; the main thread looks up its own by type.
      if (outcome.kind === 'valid') {
        const { contract, ...rest } = outcome;
        out.push({ ...rest, resourceType: contract.resourceType });
      } else {
        out.push(outcome);
      }
    }
    return out;
  },
  async () => {
    await ready();
  },
);
