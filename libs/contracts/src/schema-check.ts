import { PipelineError } from '@ehrflow/errors';
import { sameSchemaJson } from './avro.ts';
import {
  evaluateCompatibility,
  type CompatibilityLevel,
  type CompatibilityVerdict,
} from './compatibility.ts';
import { diffSchemas, type SchemaChange } from './diff.ts';
import type { SubjectSchema } from './load.ts';
import type { SchemaRegistry } from './registry.ts';

/** What `check` knows about one subject: local file vs registered versions. */
export interface SubjectReport {
  readonly subject: string;
  readonly file: string;
  /** Level from the manifest (what `register` will set). */
  readonly level: CompatibilityLevel;
  /** `new`: nothing registered; `unchanged`: the latest version equals the file; `changed`: it differs. */
  readonly status: 'new' | 'unchanged' | 'changed';
  readonly latest: { readonly version: number; readonly id: number } | undefined;
  /** Differences between the latest registered version and the file. */
  readonly changes: readonly SchemaChange[];
  /** Local evaluation (avsc schema resolution) under the manifest level. */
  readonly local: CompatibilityVerdict;
  /** The registry's own answer, under the subject's level in the registry. */
  readonly registry: (CompatibilityVerdict & { readonly level: CompatibilityLevel }) | undefined;
  /** The verdict: the registry's when it judged under the manifest level, else the local one. */
  readonly compatible: boolean;
  readonly notes: readonly string[];
}

/**
 * Compares a subject's local schema with what the registry holds and decides whether it may be
 * registered. The registry is authoritative when it judges under the manifest's level; when the
 * subject's level in the registry differs (it is set by `register`), the local evaluation decides.
 *
 * @throws PipelineError REGISTRY_UNAVAILABLE when the registry cannot be reached.
 */
export async function checkSubject(registry: SchemaRegistry, entry: SubjectSchema): Promise<SubjectReport> {
  const { subject, compatibility: level, schema } = entry;
  const base = { subject, file: schema.file, level };
  // Nothing to compare: the subject is new, or its latest version is this schema.
  const nothingToCompare = (status: 'new' | 'unchanged', latest: SubjectReport['latest']): SubjectReport => ({
    ...base,
    status,
    latest,
    changes: [],
    local: { compatible: true, messages: [] },
    registry: undefined,
    compatible: true,
    notes: [],
  });
  const versionNumbers = await versionsOrNone(registry, subject);
  if (versionNumbers.length === 0) return nothingToCompare('new', undefined);
  const versions = await Promise.all(versionNumbers.map((v) => registry.version(subject, v)));
  const latest = versions[versions.length - 1];
  if (latest === undefined) throw new Error('unreachable: versions is not empty');
  const latestRef = { version: latest.version, id: latest.id };
  if (sameSchemaJson(JSON.parse(latest.text), schema.json)) return nothingToCompare('unchanged', latestRef);

  const changes = diffSchemas(latest.text, schema.json, { subject });
  const local = evaluateCompatibility(
    schema.type,
    versions.map((v) => ({ version: v.version, type: v.schema })),
    level,
  );
  const [verdict, registryLevel] = await Promise.all([
    registry.checkCompatibility(subject, schema.canonical),
    registry.getCompatibility(subject),
  ]);
  const notes: string[] = [];
  let compatible: boolean;
  if (registryLevel === level) {
    compatible = verdict.compatible;
    if (verdict.compatible !== local.compatible) {
      notes.push(
        `registry says ${verdict.compatible ? 'compatible' : 'incompatible'}, local evaluation says ` +
          `${local.compatible ? 'compatible' : 'incompatible'}; the registry decides`,
      );
    }
  } else {
    compatible = local.compatible;
    notes.push(
      `registry level is ${registryLevel}, manifest level is ${level}; judged locally under ${level}`,
    );
  }
  const contractBreaks = changes.filter((c) => c.breaks.includes('CONTRACT'));
  if (contractBreaks.length > 0) {
    compatible = false;
    notes.push(`${contractBreaks.length} change(s) break the data contract whatever the Avro level`);
  }
  return {
    ...base,
    status: 'changed',
    latest: latestRef,
    changes,
    local,
    registry: { ...verdict, level: registryLevel },
    compatible,
    notes,
  };
}

export interface RegisterOutcome {
  readonly subject: string;
  readonly action: 'registered' | 'unchanged' | 'would_register';
  readonly version: number | undefined;
  readonly id: number | undefined;
  /** Set when the subject's compatibility level was (or, in a dry run, would be) changed. */
  readonly levelChange: { readonly from: CompatibilityLevel; readonly to: CompatibilityLevel } | undefined;
  /** The check made before registering. */
  readonly report: SubjectReport;
}

/**
 * Registers a subject's local schema when it differs from the latest registered version, after
 * setting the subject's compatibility level from the manifest. Idempotent: an unchanged schema
 * is not registered again.
 *
 * @throws PipelineError SCHEMA_INCOMPATIBLE when the registry refuses the schema.
 * @throws PipelineError REGISTRY_UNAVAILABLE when the registry cannot be reached.
 */
export async function registerSubject(
  registry: SchemaRegistry,
  entry: SubjectSchema,
  options: { dryRun?: boolean } = {},
): Promise<RegisterOutcome> {
  const { subject, compatibility: level, schema } = entry;
  const current = await registry.getCompatibility(subject);
  const levelChange = current === level ? undefined : { from: current, to: level };
  if (levelChange !== undefined && options.dryRun !== true) await registry.setCompatibility(subject, level);

  const report = await checkSubject(registry, entry);
  if (report.status === 'unchanged') {
    return {
      subject,
      action: 'unchanged',
      version: report.latest?.version,
      id: report.latest?.id,
      levelChange,
      report,
    };
  }
  if (report.changes.some((c) => c.breaks.includes('CONTRACT'))) {
    throw new PipelineError(
      'SCHEMA_INCOMPATIBLE',
      `${subject}: the change removes a field the contract requires`,
      {
        context: { subject, fieldPath: report.changes.find((c) => c.breaks.includes('CONTRACT'))?.path },
      },
    );
  }
  if (options.dryRun === true) {
    return { subject, action: 'would_register', version: undefined, id: undefined, levelChange, report };
  }
  const { id, version } = await registry.register(subject, schema.canonical);
  return { subject, action: 'registered', version, id, levelChange, report };
}

async function versionsOrNone(registry: SchemaRegistry, subject: string): Promise<number[]> {
  try {
    return await registry.versions(subject);
  } catch (err) {
    if (err instanceof PipelineError && err.code === 'SCHEMA_NOT_REGISTERED') return [];
    throw err;
  }
}
