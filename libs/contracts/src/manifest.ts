import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { PhiClassification } from './contract.ts';
import {
  CLEAN_TOPIC_PREFIX,
  FHIR_GROUP,
  VALID_TOPIC_PREFIX,
  shortTypeName,
  valueSubjectOf,
  type SchemaSet,
} from './load.ts';
import { expandManifest, type CompactManifest } from './manifest-expand.ts';

/** Top-level contract fields by PHI class (fields of class `none` are not listed). */
export type PhiFields = Readonly<Partial<Record<Exclude<PhiClassification, 'none'>, readonly string[]>>>;

/** What the pipeline knows about one resource type with a contract in `schemas/fhir/`. */
export interface ResourceEntry {
  readonly type: string;
  /** Contract file, relative to `schemas/`. */
  readonly file: string;
  readonly validTopic: string;
  readonly validSubject: string;
  readonly cleanTopic: string;
  readonly cleanSubject: string;
  readonly phi: PhiFields;
}

/** One pipeline topic whose value schema lives in `schemas/pipeline/`. */
export interface PipelineTopicEntry {
  readonly topic: string;
  readonly subject: string;
  readonly file: string;
}

/**
 * Everything the services, the simulator, the tests and the topic list need to know about the
 * pipeline's shape, derived from `schemas/` alone: adding `schemas/fhir/<Type>.avsc` adds the
 * type everywhere.
 */
export interface PipelineManifest {
  readonly validTopicPrefix: string;
  readonly cleanTopicPrefix: string;
  /** Contracted resource types: Patient first (the compartment the others refer to), then by name. */
  readonly resourceTypes: readonly string[];
  readonly resources: readonly ResourceEntry[];
  /** Pipeline topics (raw, quarantine, drift, jobs, deletions) and their subjects. */
  readonly pipelineTopics: readonly PipelineTopicEntry[];
}

/** Where the generated manifest lives. */
export function manifestFilePath(): string {
  return join(import.meta.dirname, 'generated', 'manifest.ts');
}

/**
 * Derives the pipeline manifest from a loaded schema set.
 *
 * Patient goes first because the extractor asks for types in this order and the redactor learns
 * each patient's identifiers from the Patient record before it scrubs the notes of the others.
 */
export function buildPipelineManifest(set: SchemaSet): PipelineManifest {
  const contracts = set.subjects.filter(
    (s) => s.schema.group === FHIR_GROUP && s.subject.startsWith(VALID_TOPIC_PREFIX),
  );
  const resources = contracts
    .map((s): ResourceEntry => {
      const type = shortTypeName(s.schema.name);
      const cleanTopic = `${CLEAN_TOPIC_PREFIX}${type}`;
      const phi: Partial<Record<Exclude<PhiClassification, 'none'>, string[]>> = {};
      for (const field of s.schema.contract.fields) {
        if (field.path.includes('.') || field.path.includes('[') || field.phiClass === 'none') continue;
        (phi[field.phiClass] ??= []).push(field.name);
      }
      return {
        type,
        file: s.schema.file,
        validTopic: s.subject.slice(0, -'-value'.length),
        validSubject: s.subject,
        cleanTopic,
        cleanSubject: valueSubjectOf(cleanTopic),
        phi,
      };
    })
    .sort((a, b) => typeRank(a.type) - typeRank(b.type) || a.type.localeCompare(b.type));
  const pipelineTopics = set.subjects
    .filter((s) => s.schema.group !== FHIR_GROUP && s.subject.endsWith('-value'))
    .map((s) => ({ topic: s.subject.slice(0, -'-value'.length), subject: s.subject, file: s.schema.file }));
  return {
    validTopicPrefix: VALID_TOPIC_PREFIX,
    cleanTopicPrefix: CLEAN_TOPIC_PREFIX,
    resourceTypes: resources.map((r) => r.type),
    resources,
    pipelineTopics,
  };
}

function typeRank(type: string): number {
  return type === 'Patient' ? 0 : 1;
}

/**
 * The source text of `src/generated/manifest.ts`: the resource types as a readonly tuple (so code
 * can type a record per resource type) and the manifest in its compact form, one line per type.
 *
 * @throws Error when a contract does not follow the naming the compact form relies on
 *   (`fhir/<Type>.avsc`, topics `<prefix><Type>`, subjects `<topic>-value`).
 */
export function generateManifestSource(manifest: PipelineManifest, command: string): string {
  const compact: CompactManifest = {
    validTopicPrefix: manifest.validTopicPrefix,
    cleanTopicPrefix: manifest.cleanTopicPrefix,
    resourceTypes: manifest.resourceTypes,
    phi: Object.fromEntries(manifest.resources.map((r) => [r.type, r.phi])),
    pipelineTopics: Object.fromEntries(manifest.pipelineTopics.map((t) => [t.topic, t.file])),
  };
  if (!isDeepStrictEqual(expandManifest(compact), manifest)) {
    throw new Error(
      'a contract is not named after its type (fhir/<Type>.avsc, <prefix><Type>, <topic>-value)',
    );
  }
  const types = manifest.resourceTypes.map((t) => `  '${t}',`).join('\n');
  const rows = (entries: Record<string, unknown>) =>
    Object.entries(entries)
      .map(([key, value]) => `    ${sourceKey(key)}: ${sourceLiteral(value)},`)
      .join('\n');
  return `// Generated by \`${command}\` from schemas/. Do not edit by hand: add or change a contract in
// schemas/, then run the command again. A unit test fails when this file is stale.
import type { PipelineManifest } from '../manifest.ts';
import { expandManifest } from '../manifest-expand.ts';

/** Resource types with a contract in schemas/fhir/: Patient first, then by name. */
export const RESOURCE_TYPES = [
${types}
] as const;

/** A resource type with a contract. */
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** The pipeline's shape as derived from schemas/: topics, subjects and PHI classes per type. */
export const PIPELINE_MANIFEST: PipelineManifest = expandManifest({
  validTopicPrefix: ${sourceLiteral(compact.validTopicPrefix)},
  cleanTopicPrefix: ${sourceLiteral(compact.cleanTopicPrefix)},
  resourceTypes: RESOURCE_TYPES,
  // prettier-ignore
  phi: {
${rows(compact.phi)}
  },
  pipelineTopics: {
${rows(compact.pipelineTopics)}
  },
});
`;
}

/** A key as TypeScript source: bare when it is an identifier. */
function sourceKey(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : sourceLiteral(key);
}

/** Names, topics, paths, lists of them and records of those, as one line of TypeScript source. */
function sourceLiteral(value: unknown): string {
  if (typeof value === 'string') {
    if (!/^[\w./-]*$/.test(value)) throw new Error(`not a name, topic or path: ${JSON.stringify(value)}`);
    return `'${value}'`;
  }
  if (Array.isArray(value)) return `[${value.map(sourceLiteral).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).map(([k, v]) => `${sourceKey(k)}: ${sourceLiteral(v)}`);
    return `{ ${entries.join(', ')} }`;
  }
  throw new Error(`not a name, topic or path: ${typeof value}`);
}
