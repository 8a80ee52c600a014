import { contractOf, sameSchemaJson, type Contract, type SchemaRegistry } from '@ehrflow/contracts';
import { compilePolicy, deriveCleanSchema, type CompiledPolicy, type Policy } from '@ehrflow/deid';
import { PipelineError } from '@ehrflow/errors';
import type { RedactorTopics } from './config.ts';
import { latestRegistered, registerSchema } from './registered.ts';

/** The registered contract of one `ehr.valid.<Type>` topic. */
export interface ValidContract {
  readonly type: string;
  readonly topic: string;
  readonly subject: string;
  readonly version: number;
  readonly json: unknown;
  readonly contract: Contract;
}

/** What the redactor does for one resource type: read this, write that. */
export interface TypePlan {
  readonly valid: ValidContract;
  readonly cleanTopic: string;
  readonly cleanSubject: string;
  /** The clean value schema derived from the valid contract and the policy. */
  readonly cleanSchema: Record<string, unknown>;
}

/** The policy compiled against the registered valid contracts, and the clean schemas it implies. */
export interface CleanPlan {
  readonly policy: CompiledPolicy;
  readonly types: ReadonlyMap<string, TypePlan>;
}

export interface PlanOptions {
  readonly types: readonly string[];
  readonly topics: Pick<RedactorTopics, 'validPrefix' | 'cleanPrefix'>;
  readonly policy: Policy;
}

/**
 * Reads the latest registered contract of every `ehr.valid.<Type>-value` subject, compiles the
 * policy against them (a bad policy fails here, at start) and derives each clean schema.
 *
 * @throws PipelineError SCHEMA_NOT_REGISTERED (a valid subject is missing), POLICY_INVALID,
 *   REGISTRY_UNAVAILABLE.
 */
export async function planCleanSchemas(registry: SchemaRegistry, options: PlanOptions): Promise<CleanPlan> {
  const valid = await Promise.all(
    options.types.map(async (type): Promise<ValidContract> => {
      const topic = `${options.topics.validPrefix}${type}`;
      const subject = `${topic}-value`;
      const latest = await registry.latest(subject);
      const json: unknown = JSON.parse(latest.text);
      return {
        type,
        topic,
        subject,
        version: latest.version,
        json,
        contract: contractOf(json, `${subject} v${latest.version}`),
      };
    }),
  );
  const policy = compilePolicy(options.policy, Object.fromEntries(valid.map((v) => [v.type, v.contract])));
  const types = new Map<string, TypePlan>();
  for (const v of valid) {
    const cleanTopic = `${options.topics.cleanPrefix}${v.type}`;
    types.set(v.type, {
      valid: v,
      cleanTopic,
      cleanSubject: `${cleanTopic}-value`,
      cleanSchema: deriveCleanSchema(v.json, policy.contract(v.type), policy),
    });
  }
  return { policy, types };
}

/** What `registerCleanSchemas` did for one subject. */
export interface CleanRegistration {
  readonly subject: string;
  readonly version: number;
  readonly id: number;
  /** False when the same schema was already the registered text (idempotent re-run). */
  readonly changed: boolean;
}

/**
 * Registers every clean schema of a plan under `ehr.clean.<Type>-value`. Idempotent: the registry
 * returns the existing version for the same text. Only the `register-schemas` command calls this;
 * the service never registers (it verifies, see `verifyCleanSchemas`).
 *
 * @throws PipelineError SCHEMA_INCOMPATIBLE when the subject's compatibility rule refuses the schema
 *   (e.g. a policy change that drops a field), with the registry's reason.
 */
export async function registerCleanSchemas(
  registry: SchemaRegistry,
  plan: CleanPlan,
): Promise<CleanRegistration[]> {
  const out: CleanRegistration[] = [];
  for (const t of plan.types.values())
    out.push(await registerSchema(registry, t.cleanSubject, t.cleanSchema));
  return out;
}

/**
 * Checks that the latest registered version of every clean subject is exactly the schema the
 * plan derives. Services never auto-register: a missing or stale clean schema stops the start.
 *
 * @throws PipelineError SCHEMA_NOT_REGISTERED naming the subject and the command to run.
 */
export async function verifyCleanSchemas(registry: SchemaRegistry, plan: CleanPlan): Promise<void> {
  for (const t of plan.types.values()) {
    const hint = `run "node services/redactor/src/cli.ts register-schemas --policy ${plan.policy.name}"`;
    const registered: unknown = JSON.parse(
      (await latestRegistered(registry, t.cleanSubject, hint, 'clean subject')).text,
    );
    if (!sameSchemaJson(registered, t.cleanSchema)) {
      throw new PipelineError(
        'SCHEMA_NOT_REGISTERED',
        `latest ${t.cleanSubject} is not the clean schema derived from ${t.valid.subject} v${t.valid.version} under policy ${plan.policy.name} ${plan.policy.version}; ${hint}`,
        { context: { subject: t.cleanSubject, validVersion: t.valid.version, policy: plan.policy.name } },
      );
    }
  }
}
