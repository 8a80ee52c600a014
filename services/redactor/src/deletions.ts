import {
  contractOf,
  deletionsTopicOf,
  isPhi,
  sameSchemaJson,
  type Contract,
  type Deletion,
  type SchemaRegistry,
} from '@ehrflow/contracts';
import type { CompiledPolicy, RecordScope, ValueProcessor } from '@ehrflow/deid';
import { PipelineError } from '@ehrflow/errors';
import type { Keyring } from '@ehrflow/phi';
import type { CleanRegistration } from './clean-schemas.ts';
import type { RedactorTopics } from './config.ts';
import { createDecryptor, type Decryptor } from './decrypt.ts';
import { latestRegistered, registerSchema } from './registered.ts';

/**
 * What the redactor does with deletions: read `<validPrefix>deletions`, write
 * `<cleanPrefix>deletions`. Both subjects carry the one deletion schema
 * (`schemas/pipeline/deletion.avsc`): only the meaning of `logicalId` changes, from ciphertext to
 * pseudonym, so there is nothing to derive.
 */
export interface DeletionPlan {
  readonly validTopic: string;
  readonly validSubject: string;
  readonly validVersion: number;
  readonly cleanTopic: string;
  readonly cleanSubject: string;
  /** The registered deletion schema (JSON). */
  readonly schema: unknown;
  readonly contract: Contract;
}

/** The one PHI field a deletion may carry. */
const LOGICAL_ID = 'logicalId';

const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;

function hint(): string {
  return 'run "node services/redactor/src/cli.ts register-schemas"';
}

/**
 * Reads the registered deletion schema of `<validPrefix>deletions-value`.
 *
 * @throws PipelineError SCHEMA_NOT_REGISTERED naming the subject and the command to run;
 *   SCHEMA_INVALID when the schema carries a PHI field other than `logicalId` (the redactor would
 *   not know what to do with it); REGISTRY_UNAVAILABLE.
 */
export async function planDeletions(
  registry: SchemaRegistry,
  topics: Pick<RedactorTopics, 'validPrefix' | 'cleanPrefix'>,
): Promise<DeletionPlan> {
  const validTopic = deletionsTopicOf(topics.validPrefix);
  const cleanTopic = deletionsTopicOf(topics.cleanPrefix);
  const validSubject = `${validTopic}-value`;
  const latest = await latestRegistered(registry, validSubject, hint());
  const schema: unknown = JSON.parse(latest.text);
  const contract = contractOf(schema, `${validSubject} v${latest.version}`);
  const phi = contract.fields.filter((f) => isPhi(f)).map((f) => f.path);
  if (phi.length !== 1 || phi[0] !== LOGICAL_ID) {
    throw new PipelineError(
      'SCHEMA_INVALID',
      `${validSubject} v${latest.version}: a deletion may carry PHI only in ${LOGICAL_ID} (found ${phi.join(', ') || 'none'})`,
      { context: { subject: validSubject } },
    );
  }
  return {
    validTopic,
    validSubject,
    validVersion: latest.version,
    cleanTopic,
    cleanSubject: `${cleanTopic}-value`,
    schema,
    contract,
  };
}

/**
 * Registers the deletion schema under `<validPrefix>deletions-value` and `<cleanPrefix>deletions-value`
 * (idempotent). Only the `register-schemas` command calls this; the service verifies.
 */
export async function registerDeletionSchemas(
  registry: SchemaRegistry,
  topics: Pick<RedactorTopics, 'validPrefix' | 'cleanPrefix'>,
  schema: unknown,
): Promise<CleanRegistration[]> {
  const out: CleanRegistration[] = [];
  for (const prefix of [topics.validPrefix, topics.cleanPrefix])
    out.push(await registerSchema(registry, `${deletionsTopicOf(prefix)}-value`, schema));
  return out;
}

/**
 * Checks that the clean deletions subject carries exactly the registered valid deletion schema.
 * @throws PipelineError SCHEMA_NOT_REGISTERED naming the subject and the command to run.
 */
export async function verifyDeletionSchemas(registry: SchemaRegistry, plan: DeletionPlan): Promise<void> {
  const registered: unknown = JSON.parse((await latestRegistered(registry, plan.cleanSubject, hint())).text);
  if (!sameSchemaJson(registered, plan.schema)) {
    throw new PipelineError(
      'SCHEMA_NOT_REGISTERED',
      `latest ${plan.cleanSubject} is not the deletion schema of ${plan.validSubject} v${plan.validVersion}; ${hint()}`,
      { context: { subject: plan.cleanSubject, validVersion: plan.validVersion } },
    );
  }
}

/** Turns an `ehr.valid.deletions` record into its `ehr.clean.deletions` record. */
export interface DeletionRedactor {
  /**
   * @throws PipelineError UNKNOWN_RESOURCE_TYPE (a type the redactor does not serve),
   *   DECRYPT_FAILED (logical id not encrypted, or a key the ring lacks), CONTRACT_VIOLATION
   *   (a value the policy's method refuses) — the record's fault, quarantined by the handler.
   */
  redact(record: Readonly<Record<string, unknown>>): Deletion;
}

export interface DeletionRedactorOptions {
  readonly plan: DeletionPlan;
  readonly policy: CompiledPolicy;
  /** The resource types served (those of the clean plan). */
  readonly types: readonly string[];
  readonly ring: Keyring;
  readonly pseudonymKey: Buffer;
}

/**
 * The tombstone must key the row the upserts of the same resource created, so its logical id goes
 * through the very processor the compiled policy runs on the type's `logicalId` field (a keyed
 * hash under `ref:<Type>` by default). Only `hash` and `keep` are pure functions of the value; a
 * policy that drops, shifts, generalises or scrubs a logical id could not match the row, and is
 * refused at start.
 *
 * @throws PipelineError POLICY_INVALID naming every type whose logicalId rule does not fit.
 */
export function createDeletionRedactor(options: DeletionRedactorOptions): DeletionRedactor {
  const { policy, plan } = options;
  const decrypt: Decryptor = createDecryptor(plan.contract, options.ring);
  const processors = new Map<string, ValueProcessor | undefined>();
  const problems: string[] = [];
  for (const type of options.types) {
    const compiled = policy.contract(type);
    const field = compiled.fields.find((f) => f.name === compiled.logicalIdField);
    if (field === undefined || (field.method !== 'hash' && field.method !== 'keep')) {
      problems.push(
        `contract ${type} field ${LOGICAL_ID}: ${field === undefined ? 'missing' : `method ${field.method}`}; deletions need hash or keep to find the row`,
      );
      continue;
    }
    processors.set(type, field.process);
  }
  if (problems.length > 0) {
    throw new PipelineError(
      'POLICY_INVALID',
      `de-identification policy ${policy.name} cannot carry deletions: ${problems.join('; ')}`,
      { context: { policy: policy.name } },
    );
  }
  // hash and keep read nothing but the key from the scope.
  const scope: RecordScope = {
    pseudonymKey: options.pseudonymKey,
    now: new Date(0),
    shiftDays: () => {
      throw new TypeError('a deletion has no date to shift');
    },
    freeTextIdentifiers: () => undefined,
    withheld: () => undefined,
  };
  return {
    redact(record) {
      const type = record.resourceType;
      if (typeof type !== 'string' || !processors.has(type)) {
        const shown = typeof type === 'string' && RESOURCE_TYPE.test(type) ? type : '(not a type name)';
        throw new PipelineError(
          'UNKNOWN_RESOURCE_TYPE',
          `deletion of resource type ${shown}, which this redactor does not serve`,
          {
            context: { fieldPath: 'resourceType' },
          },
        );
      }
      const plain = decrypt(record);
      const id = plain[LOGICAL_ID];
      if (typeof id !== 'string') {
        throw new PipelineError('MISSING_REQUIRED', `field ${LOGICAL_ID}: a deletion needs the logical id`, {
          context: { fieldPath: LOGICAL_ID },
        });
      }
      const process = processors.get(type);
      return {
        recordId: String(plain.recordId),
        jobId: String(plain.jobId),
        sourceId: String(plain.sourceId),
        resourceType: type,
        logicalId: process === undefined ? id : process(id, scope),
        sourceLocator: String(plain.sourceLocator),
        deleted: true,
        deidPolicy: policy.name,
        deidPolicyVersion: policy.version,
      };
    },
  };
}
