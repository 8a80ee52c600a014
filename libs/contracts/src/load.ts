import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import { PipelineError } from '@ehrflow/errors';
import { canonicalText, isRecordType, parseAvroText, type AvroType } from './avro.ts';
import { COMPATIBILITY_LEVELS, DEFAULT_COMPATIBILITY, type CompatibilityLevel } from './compatibility.ts';
import { contractOf, type Contract } from './contract.ts';

/** Name of the manifest that maps registry subjects to schema files, at the root of `schemas/`. */
export const MANIFEST_FILE = 'subjects.json';

/** Folder of the FHIR resource contracts: every `fhir/<Type>.avsc` is the contract of `ehr.valid.<Type>`. */
export const FHIR_GROUP = 'fhir';

/** Prefix of the per-type topics the validator writes; the contract's subject is `<topic>-value`. */
export const VALID_TOPIC_PREFIX = 'ehr.valid.';

/** Prefix of the per-type topics the redactor writes. */
export const CLEAN_TOPIC_PREFIX = 'ehr.clean.';

/** Registry subject of the value schema of a topic (Confluent's TopicNameStrategy). */
export function valueSubjectOf(topic: string): string {
  return `${topic}-value`;
}

/** One `.avsc` file of `schemas/<group>/`, parsed and with its contract read. */
export interface SchemaFile {
  /** Folder under `schemas/`: `pipeline`, `fhir`, ... */
  readonly group: string;
  /** Path relative to `schemas/`, with forward slashes: `pipeline/raw-envelope.avsc`. */
  readonly file: string;
  /** Absolute path. */
  readonly path: string;
  readonly json: unknown;
  readonly type: AvroType;
  /** Fully qualified name of the top-level record. */
  readonly name: string;
  /** The text to register (see `canonicalText`). */
  readonly canonical: string;
  readonly contract: Contract;
}

/** A manifest entry: a registry subject, its compatibility level and its schema file. */
export interface SubjectSchema {
  readonly subject: string;
  readonly compatibility: CompatibilityLevel;
  readonly schema: SchemaFile;
}

/** Every local schema file and the subjects the manifest maps them to. */
export interface SchemaSet {
  /** Absolute path of the `schemas/` directory. */
  readonly dir: string;
  readonly files: readonly SchemaFile[];
  readonly subjects: readonly SubjectSchema[];
  /** Files no manifest entry points at (loaded and checked, never registered). */
  readonly unmapped: readonly SchemaFile[];
  /**
   * The manifest entry of a subject.
   * @throws PipelineError SCHEMA_NOT_REGISTERED when the manifest has no such subject.
   */
  subject(name: string): SubjectSchema;
}

const manifestSchema = z.strictObject({
  $comment: z.string().optional(),
  defaultCompatibility: z.enum(COMPATIBILITY_LEVELS).optional(),
  subjects: z.record(
    z.string().min(1),
    z.strictObject({
      file: z.string().regex(/^[A-Za-z0-9_-]+\/[A-Za-z0-9._-]+\.avsc$/, 'must be "<group>/<name>.avsc"'),
      compatibility: z.enum(COMPATIBILITY_LEVELS).optional(),
    }),
  ),
});

/**
 * Finds the `schemas/` directory by walking up from a start directory (by default this module's
 * directory) until one holds `schemas/subjects.json`.
 *
 * @throws PipelineError SCHEMA_INVALID when none is found.
 */
export function findSchemasDir(start: string = import.meta.dirname): string {
  let dir = resolve(start);
  for (;;) {
    if (existsSync(join(dir, 'schemas', MANIFEST_FILE))) return join(dir, 'schemas');
    if (existsSync(join(dir, MANIFEST_FILE)) && dir.endsWith(`${sep}schemas`)) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new PipelineError('SCHEMA_INVALID', `no schemas/${MANIFEST_FILE} found above ${resolve(start)}`);
    }
    dir = parent;
  }
}

/**
 * Loads every `schemas/<group>/*.avsc` file and the subject manifest. Everything is checked at
 * once, so a bad schema fails at load, not at the first record: JSON, Avro, a record at the top,
 * the contract attributes, and manifest entries that name a missing file.
 *
 * @param options.dir the `schemas/` directory; found with `findSchemasDir` when omitted.
 * @throws PipelineError SCHEMA_INVALID naming the file and the problem.
 */
export function loadSchemaSet(options: { dir?: string } = {}): SchemaSet {
  const dir = resolve(options.dir ?? findSchemasDir());
  const files = listSchemaFiles(dir).map((path) => loadSchemaFile(dir, path));
  const byFile = new Map(files.map((f) => [f.file, f]));
  const manifest = readManifest(dir);
  const defaultLevel = manifest.defaultCompatibility ?? DEFAULT_COMPATIBILITY;

  const subjects: SubjectSchema[] = [];
  for (const [subject, entry] of Object.entries(manifest.subjects)) {
    const schema = byFile.get(entry.file);
    if (schema === undefined) {
      throw new PipelineError(
        'SCHEMA_INVALID',
        `${MANIFEST_FILE}: subject ${subject} names ${entry.file}, which does not exist`,
        {
          context: { subject, file: entry.file },
        },
      );
    }
    subjects.push({ subject, compatibility: entry.compatibility ?? defaultLevel, schema });
  }
  // A FHIR contract needs no manifest line: its subject follows from its resource type. The
  // manifest still may name one, e.g. to give it another compatibility level.
  const listed = new Set(subjects.map((s) => s.schema.file));
  for (const schema of files) {
    if (schema.group !== FHIR_GROUP || listed.has(schema.file)) continue;
    const type = shortTypeName(schema.name);
    const expected = `${FHIR_GROUP}/${type}.avsc`;
    if (schema.file !== expected) {
      throw new PipelineError(
        'SCHEMA_INVALID',
        `${schema.file}: a FHIR contract's file is named after its record (${expected})`,
        { context: { file: schema.file } },
      );
    }
    const subject = valueSubjectOf(`${VALID_TOPIC_PREFIX}${type}`);
    if (manifest.subjects[subject] !== undefined) continue;
    subjects.push({ subject, compatibility: defaultLevel, schema });
  }
  const mapped = new Set(subjects.map((s) => s.schema.file));
  const bySubject = new Map(subjects.map((s) => [s.subject, s]));

  return {
    dir,
    files,
    subjects,
    unmapped: files.filter((f) => !mapped.has(f.file)),
    subject(name) {
      const found = bySubject.get(name);
      if (found === undefined) {
        throw new PipelineError(
          'SCHEMA_NOT_REGISTERED',
          `subject ${name} is not in schemas/${MANIFEST_FILE}`,
          {
            context: { subject: name },
          },
        );
      }
      return found;
    },
  };
}

/**
 * Parses one schema file.
 *
 * @throws PipelineError SCHEMA_INVALID naming the file and the problem.
 */
export function loadSchemaFile(schemasDir: string, path: string): SchemaFile {
  const file = relative(schemasDir, path).split(sep).join('/');
  const { json, type } = parseAvroText(readFileSync(path, 'utf8'), file);
  if (!isRecordType(type)) {
    throw new PipelineError(
      'SCHEMA_INVALID',
      `${file}: the top-level type must be a record, found ${type.typeName}`,
      {
        context: { file },
      },
    );
  }
  return {
    group: file.split('/')[0] ?? '',
    file,
    path,
    json,
    type,
    name: type.name ?? '',
    canonical: canonicalText(json),
    contract: contractOf(json, file),
  };
}

/** `ehrflow.fhir.Observation` → `Observation`. */
export function shortTypeName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

function listSchemaFiles(dir: string): string[] {
  const out: string[] = [];
  for (const group of readdirSync(dir).sort()) {
    const groupDir = join(dir, group);
    if (!statSync(groupDir).isDirectory()) continue;
    for (const name of readdirSync(groupDir).sort()) {
      if (name.endsWith('.avsc')) out.push(join(groupDir, name));
    }
  }
  return out;
}

function readManifest(dir: string): z.infer<typeof manifestSchema> {
  const path = join(dir, MANIFEST_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const why =
      err instanceof SyntaxError ? err.message : ((err as NodeJS.ErrnoException).code ?? 'unreadable');
    throw new PipelineError('SCHEMA_INVALID', `${MANIFEST_FILE}: ${why}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`,
    );
    throw new PipelineError('SCHEMA_INVALID', `${MANIFEST_FILE}: ${problems.join('; ')}`);
  }
  return parsed.data;
}
