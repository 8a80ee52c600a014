import { canonicalText, type RegisteredSchema, type SchemaRegistry } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import type { CleanRegistration } from './clean-schemas.ts';

const notRegistered = (err: unknown): boolean =>
  err instanceof PipelineError && err.code === 'SCHEMA_NOT_REGISTERED';

/**
 * The latest registered version of a subject the redactor needs.
 * @throws PipelineError SCHEMA_NOT_REGISTERED naming the subject and `hint` (the command to run).
 */
export async function latestRegistered(
  registry: SchemaRegistry,
  subject: string,
  hint: string,
  /** How the message names the subject (`clean subject`). */
  label = 'subject',
): Promise<RegisteredSchema> {
  try {
    return await registry.latest(subject);
  } catch (err) {
    if (!notRegistered(err)) throw err;
    throw new PipelineError(
      'SCHEMA_NOT_REGISTERED',
      `${label} ${subject} has no registered schema; ${hint}`,
      {
        cause: err,
        context: { subject },
      },
    );
  }
}

/**
 * Registers `schema` under `subject`. Idempotent: the registry returns the existing version for
 * the same text, and `changed` says whether this call made a new one.
 */
export async function registerSchema(
  registry: SchemaRegistry,
  subject: string,
  schema: unknown,
): Promise<CleanRegistration> {
  const before = await registry.latest(subject).then(
    (s) => s.version,
    (err: unknown) => {
      if (notRegistered(err)) return null;
      throw err;
    },
  );
  const { id, version } = await registry.register(subject, canonicalText(schema));
  return { subject, id, version, changed: before !== version };
}
