import { PipelineError } from '@ehrflow/errors';
import { z } from '@ehrflow/config';

/** What a manifest file holds: resources, deletions (Bundles) or OperationOutcomes. */
export type FileRole = 'output' | 'deleted' | 'error';

/** One file to read, in manifest order. */
export interface ManifestFile {
  readonly role: FileRole;
  readonly type: string;
  readonly url: string;
  /** Resource count the server announced, when it did. */
  readonly count?: number;
}

export interface ExportManifest {
  readonly transactionTime: string;
  readonly requiresAccessToken: boolean;
  readonly files: readonly ManifestFile[];
}

const entry = z.object({
  type: z.string().min(1),
  url: z.url(),
  count: z.number().int().min(0).optional(),
});

const manifestSchema = z.object({
  transactionTime: z.string().min(1),
  request: z.string().optional(),
  requiresAccessToken: z.boolean(),
  output: z.array(entry),
  deleted: z.array(entry).optional(),
  error: z.array(entry),
});

/**
 * Validates a completed-status body and lists its files in a stable order (output, deleted, error),
 * so a checkpoint can refer to files by index. Problems name the field, never a value.
 *
 * @throws PipelineError HTTP_PERMANENT when the body is not a Bulk Data manifest.
 * @see https://hl7.org/fhir/uv/bulkdata/export.html#response---complete-status
 */
export function parseManifest(body: unknown): ExportManifest {
  const parsed = manifestSchema.safeParse(body);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => i.path.map(String).join('.') || '(root)');
    throw new PipelineError('HTTP_PERMANENT', 'the export status answered with an invalid manifest', {
      context: { fields: [...new Set(fields)].slice(0, 5).join(',') },
    });
  }
  const m = parsed.data;
  const files: ManifestFile[] = [
    ...m.output.map((f) => ({ role: 'output' as const, ...f })),
    ...(m.deleted ?? []).map((f) => ({ role: 'deleted' as const, ...f })),
    ...m.error.map((f) => ({ role: 'error' as const, ...f })),
  ];
  return { transactionTime: m.transactionTime, requiresAccessToken: m.requiresAccessToken, files };
}

/** A resource as the extractor needs it: type, logical id, and the patient it belongs to. */
export interface ResourceHead {
  readonly resourceType: string;
  readonly id: string;
  /** Logical id of the owning Patient, when the resource names one. */
  readonly patientId: string | undefined;
}

const PATIENT_REF = /^(?:.*\/)?Patient\/([A-Za-z0-9.-]{1,64})(?:\/_history\/.*)?$/;

/**
 * Reads the identifying head of a resource: `resourceType`, `id`, and the patient from `id`
 * (Patient), `subject` or `patient` (clinical resources). Returns undefined when the resource
 * has no usable type or id.
 */
export function resourceHead(resource: Readonly<Record<string, unknown>>): ResourceHead | undefined {
  const { resourceType, id } = resource;
  if (typeof resourceType !== 'string' || typeof id !== 'string' || resourceType === '' || id === '') {
    return undefined;
  }
  if (resourceType === 'Patient') return { resourceType, id, patientId: id };
  const ref = referenceOf(resource.subject) ?? referenceOf(resource.patient);
  const match = ref === undefined ? null : PATIENT_REF.exec(ref);
  return { resourceType, id, patientId: match?.[1] };
}

function referenceOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { reference?: unknown }).reference;
  return typeof ref === 'string' ? ref : undefined;
}

/** One deletion listed in a `deleted` file. */
export interface DeletedRef {
  readonly resourceType: string;
  readonly id: string;
}

/**
 * The deletions of one `deleted`-file line: a Bundle whose entries carry
 * `request: { method: 'DELETE', url: '<Type>/<id>' }`. Entries of another shape are skipped and
 * counted by the caller as errors (the count of returned refs tells it how many).
 *
 * @see https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-organization (deleted)
 */
export function deletedRefs(bundle: Readonly<Record<string, unknown>>): { refs: DeletedRef[]; invalid: number } {
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
  if (bundle.resourceType !== 'Bundle' || entries.length === 0) return { refs: [], invalid: 1 };
  const refs: DeletedRef[] = [];
  let invalid = 0;
  for (const e of entries) {
    const request = (e as { request?: { method?: unknown; url?: unknown } } | null)?.request;
    const match =
      request?.method === 'DELETE' && typeof request.url === 'string'
        ? /^([A-Za-z]{1,64})\/([A-Za-z0-9.-]{1,64})$/.exec(request.url)
        : null;
    if (match?.[1] === undefined || match[2] === undefined) {
      invalid++;
      continue;
    }
    refs.push({ resourceType: match[1], id: match[2] });
  }
  return { refs, invalid };
}
