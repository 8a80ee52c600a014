import { z } from 'zod';
import { PipelineError, isPipelineError } from '@ehrflow/errors';
import { retry, type RetryPolicy } from '@ehrflow/resilience';
import { parseAvroText, type AvroType } from './avro.ts';
import {
  COMPATIBILITY_LEVELS,
  isCompatibilityLevel,
  type CompatibilityLevel,
  type CompatibilityVerdict,
} from './compatibility.ts';
import { createRegistryHttp, orMissing, type RegistryTransport } from './registry-http.ts';

/** A schema version as the registry holds it. */
export interface RegisteredSchema {
  readonly subject: string;
  readonly version: number;
  /** Registry-wide schema id: the one in the wire frame. */
  readonly id: number;
  /** The schema text exactly as registered (custom attributes included). */
  readonly text: string;
  readonly schema: AvroType;
}

export interface SchemaById {
  readonly id: number;
  readonly text: string;
  readonly schema: AvroType;
}

export interface SubjectVersion {
  readonly subject: string;
  readonly version: number;
}

/**
 * The one seam around the schema registry (Confluent REST API; tested against Apicurio 3's
 * ccompat API). Every failure is a PipelineError:
 * - registry unreachable, timed out or 5xx: REGISTRY_UNAVAILABLE (transient, retryable);
 * - subject, version or id unknown: SCHEMA_NOT_REGISTERED;
 * - schema refused as incompatible (409): SCHEMA_INCOMPATIBLE, with the registry's reason;
 * - schema refused as invalid (422): SCHEMA_INVALID;
 * - any other 4xx: REGISTRY_REJECTED.
 *
 * @see https://docs.confluent.io/platform/current/schema-registry/develop/api.html
 */
export interface SchemaRegistry {
  /** Base URL without credentials, for messages. */
  readonly url: string;
  subjects(): Promise<string[]>;
  /** Version numbers of a subject, ascending. */
  versions(subject: string): Promise<number[]>;
  latest(subject: string): Promise<RegisteredSchema>;
  version(subject: string, version: number): Promise<RegisteredSchema>;
  byId(id: number): Promise<SchemaById>;
  /** Subjects and versions that use a schema id (empty when the registry cannot tell). */
  subjectVersionsOf(id: number): Promise<SubjectVersion[]>;
  /**
   * Registers schema text under a subject; returns the existing id and version when the same
   * text is already registered. Text is registered verbatim: pass `canonicalText(json)`.
   */
  register(subject: string, schemaText: string): Promise<{ id: number; version: number }>;
  /**
   * Asks the registry whether schema text may be registered under the subject's configured
   * level (against every version the level covers). A subject with no version is compatible.
   */
  checkCompatibility(subject: string, schemaText: string): Promise<CompatibilityVerdict>;
  /** The subject's compatibility level, falling back to the registry-wide default. */
  getCompatibility(subject: string): Promise<CompatibilityLevel>;
  setCompatibility(subject: string, level: CompatibilityLevel): Promise<void>;
  /**
   * Deletes a subject (soft, then permanently unless `permanent: false`). Idempotent: a missing
   * subject returns an empty list.
   * @returns the deleted version numbers.
   */
  deleteSubject(subject: string, options?: { permanent?: boolean }): Promise<number[]>;
  /** Closes the connection pool. */
  close(): Promise<void>;
}

export interface RegistryOptions {
  /** Base URL of the Confluent-compatible API; `user:password@` in it becomes HTTP basic auth. */
  readonly url: string;
  /** Bound on connect, headers and body of each request, in ms. Default 5000. */
  readonly timeoutMs?: number;
  /**
   * The registry's CA and basic-auth credentials. Default: from the environment
   * (`SCHEMA_REGISTRY_CA`, `SCHEMA_REGISTRY_USERNAME(_FILE)`, `SCHEMA_REGISTRY_PASSWORD(_FILE)`).
   */
  readonly transport?: RegistryTransport;
  /**
   * Retry of reads (GET) that fail transiently (REGISTRY_UNAVAILABLE: unreachable, timeout, 5xx).
   * Default {@link DEFAULT_REGISTRY_RETRY}; writes are never retried here.
   */
  readonly retry?: RetryPolicy;
}

/** Two more tries within about a second: rides out a registry restart blip, then fails the caller. */
export const DEFAULT_REGISTRY_RETRY: RetryPolicy = { retries: 2, initialMs: 200, factor: 2, maxMs: 1_000 };

const versionSchema = z.object({
  subject: z.string(),
  version: z.number().int(),
  id: z.number().int(),
  schema: z.string(),
  schemaType: z.string().optional(),
});
const idSchema = z.object({ id: z.number().int() });
const byIdSchema = z.object({ schema: z.string(), schemaType: z.string().optional() });
const versionsSchema = z.array(z.number().int());
const subjectVersionsSchema = z.array(z.object({ subject: z.string(), version: z.number().int() }));
const compatibilitySchema = z.object({
  is_compatible: z.boolean(),
  messages: z.array(z.string()).optional(),
});
const configSchema = z.object({
  compatibilityLevel: z.string().optional(),
  compatibility: z.string().optional(),
});

/** Creates a registry client. Nothing is fetched until the first call. */
export function createRegistry(options: RegistryOptions): SchemaRegistry {
  const http = createRegistryHttp(options.url, options.timeoutMs ?? 5000, options.transport);
  const { safeUrl, close } = http;
  const policy = options.retry ?? DEFAULT_REGISTRY_RETRY;
  // Reads are idempotent: retried on transient failures with the shared retry module. The caller
  // still sees the registry's own error (REGISTRY_UNAVAILABLE), not RETRIES_EXHAUSTED.
  const call: typeof http.call = (c, schema) =>
    c.method !== 'GET'
      ? http.call(c, schema)
      : retry(() => http.call(c, schema), policy).catch((err: unknown) => {
          throw isPipelineError(err) && err.code === 'RETRIES_EXHAUSTED' ? err.cause : err;
        });
  const seg = (s: string): string => encodeURIComponent(s);

  async function fetchVersion(subject: string, version: number | 'latest'): Promise<RegisteredSchema> {
    const v = await call(
      {
        method: 'GET',
        path: `/subjects/${seg(subject)}/versions/${version}`,
        about: `subject ${subject} version ${version}`,
      },
      versionSchema,
    );
    return {
      subject: v.subject,
      version: v.version,
      id: v.id,
      text: v.schema,
      schema: parseAvroText(v.schema, `${subject} v${v.version}`).type,
    };
  }

  return {
    url: safeUrl,

    subjects: () =>
      call({ method: 'GET', path: '/subjects', about: 'the subject list' }, z.array(z.string())),

    versions: (subject) =>
      call(
        { method: 'GET', path: `/subjects/${seg(subject)}/versions`, about: `subject ${subject}` },
        versionsSchema,
      ).then((vs) => [...vs].sort((a, b) => a - b)),

    latest: (subject) => fetchVersion(subject, 'latest'),

    version: (subject, version) => fetchVersion(subject, version),

    async byId(id) {
      const s = await call(
        { method: 'GET', path: `/schemas/ids/${id}`, about: `schema id ${id}` },
        byIdSchema,
      );
      return { id, text: s.schema, schema: parseAvroText(s.schema, `schema id ${id}`).type };
    },

    subjectVersionsOf: (id) =>
      orMissing(
        call(
          { method: 'GET', path: `/schemas/ids/${id}/versions`, about: `schema id ${id}` },
          subjectVersionsSchema,
        ),
        [],
      ),

    async register(subject, schemaText) {
      const about = `subject ${subject}`;
      const body = { schemaType: 'AVRO', schema: schemaText };
      const { id } = await call(
        { method: 'POST', path: `/subjects/${seg(subject)}/versions`, body, about },
        idSchema,
      );
      // The register answer carries only the id; look the text up to learn its version.
      const found = await call(
        { method: 'POST', path: `/subjects/${seg(subject)}`, body, about },
        versionSchema,
      );
      return { id, version: found.version };
    },

    async checkCompatibility(subject, schemaText) {
      const answer = await orMissing(
        call(
          {
            method: 'POST',
            path: `/compatibility/subjects/${seg(subject)}/versions?verbose=true`,
            body: { schemaType: 'AVRO', schema: schemaText },
            about: `subject ${subject}`,
          },
          compatibilitySchema,
        ),
        undefined,
      );
      // No version yet: anything is compatible.
      return answer === undefined
        ? { compatible: true, messages: [] }
        : { compatible: answer.is_compatible, messages: answer.messages ?? [] };
    },

    async getCompatibility(subject) {
      const about = `config of subject ${subject}`;
      const path = `/config/${seg(subject)}?defaultToGlobal=true`;
      // Apicurio answers 404 for a subject without versions even with defaultToGlobal: fall back.
      const c =
        (await orMissing(call({ method: 'GET', path, about }, configSchema), undefined)) ??
        (await call({ method: 'GET', path: '/config', about: 'the global config' }, configSchema));
      const level = c.compatibilityLevel ?? c.compatibility;
      if (!isCompatibilityLevel(level)) {
        throw new PipelineError(
          'REGISTRY_UNAVAILABLE',
          `schema registry at ${safeUrl} gave an unknown compatibility level`,
          {
            context: { registry: safeUrl, subject },
          },
        );
      }
      return level;
    },

    async setCompatibility(subject, level) {
      // Checked here: Apicurio answers 500 to an unknown level, which would read as an outage.
      if (!isCompatibilityLevel(level)) {
        throw new RangeError(
          `unknown compatibility level; expected one of ${COMPATIBILITY_LEVELS.join(', ')}`,
        );
      }
      await call(
        {
          method: 'PUT',
          path: `/config/${seg(subject)}`,
          body: { compatibility: level },
          about: `config of subject ${subject}`,
        },
        configSchema,
      );
    },

    async deleteSubject(subject, opts = {}) {
      const about = `subject ${subject}`;
      const path = `/subjects/${seg(subject)}`;
      const deleted = await orMissing(call({ method: 'DELETE', path, about }, versionsSchema), []);
      if (opts.permanent !== false) {
        if (deleted.length > 0) {
          await call({ method: 'DELETE', path: `${path}?permanent=true`, about }, versionsSchema);
        }
        // A level set on a subject outlives it when the subject never had a version.
        await orMissing(
          call({ method: 'DELETE', path: `/config/${seg(subject)}`, about }, configSchema),
          undefined,
        );
      }
      return deleted;
    },

    close,
  };
}
