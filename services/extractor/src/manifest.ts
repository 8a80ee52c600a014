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

/** `Type/id`, an absolute URL ending in it, either with `/_history/<vid>`. */
const DELETED_URL =
  /^(?:[a-z][a-z0-9+.-]*:\/\/[^\s?#]*\/)?([A-Z][A-Za-z]{0,63})\/([A-Za-z0-9.-]{1,64})(?:\/_history\/[A-Za-z0-9.-]{1,64})?$/;

/**
 * The deletions of one `deleted`-file line: a Bundle (transaction or not) whose entries carry
 * `request: { method: 'DELETE', url }`, the URL in any form servers write: `Type/id`, absolute
 * (`https://…/fhir/Type/id`) or a version (`Type/id/_history/3`). Entries of another shape are
 * skipped and counted by the caller as errors (`invalid`).
 *
 * @see https://hl7.org/fhir/uv/bulkdata/export.html#bulk-data-output-file-organization (deleted)
 */
export function deletedRefs(bundle: Readonly<Record<string, unknown>>): {
  refs: DeletedRef[];
  invalid: number;
} {
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
  if (bundle.resourceType !== 'Bundle' || entries.length === 0) return { refs: [], invalid: 1 };
  const refs: DeletedRef[] = [];
  let invalid = 0;
  for (const e of entries) {
    const request = (e as { request?: { method?: unknown; url?: unknown } } | null)?.request;
    const match =
      request?.method === 'DELETE' && typeof request.url === 'string' ? DELETED_URL.exec(request.url) : null;
    if (match?.[1] === undefined || match[2] === undefined) {
      invalid++;
      continue;
    }
    refs.push({ resourceType: match[1], id: match[2] });
  }
  return { refs, invalid };
}

/**
 * FHIR R4 IssueType codes: the only issue codes the extractor repeats (anything else is
 * `unknown`), because a server's own strings may carry text from a record.
 * @see https://hl7.org/fhir/R4/valueset-issue-type.html
 */
const ISSUE_TYPES = new Set([
  'invalid',
  'structure',
  'required',
  'value',
  'invariant',
  'security',
  'login',
  'unknown',
  'expired',
  'forbidden',
  'suppressed',
  'processing',
  'not-supported',
  'duplicate',
  'multiple-matches',
  'not-found',
  'deleted',
  'too-long',
  'code-invalid',
  'extension',
  'too-costly',
  'business-rule',
  'conflict',
  'transient',
  'lock-error',
  'no-store',
  'exception',
  'timeout',
  'incomplete',
  'throttled',
  'informational',
]);

/** What one `error` entry reports, in PHI-free terms. */
export interface ErrorEntrySummary {
  /** A requested resource type the OperationOutcome concerns, or `unknown`. */
  readonly type: string;
  /** Its issue codes (IssueType values; `unknown` for anything else). */
  readonly codes: readonly string[];
}

/**
 * Sums up an OperationOutcome of an `error` file without keeping any of its text: the resource
 * type it concerns (from `issue.expression` / `issue.location`, else a requested type named in
 * `issue.diagnostics` — only the type name is kept, never the text) and its issue codes.
 */
export function errorEntrySummary(value: unknown, requested: readonly string[]): ErrorEntrySummary {
  const issues = (value as { resourceType?: unknown; issue?: unknown } | null)?.issue;
  if (
    (value as { resourceType?: unknown } | null)?.resourceType !== 'OperationOutcome' ||
    !Array.isArray(issues)
  ) {
    return { type: 'unknown', codes: ['unknown'] };
  }
  let type: string | undefined;
  const codes: string[] = [];
  const named = (text: unknown): string | undefined => {
    if (typeof text !== 'string') return undefined;
    const head = /^([A-Z][A-Za-z]{0,63})\b/.exec(text)?.[1];
    return head !== undefined && requested.includes(head) ? head : undefined;
  };
  for (const issue of issues as {
    code?: unknown;
    expression?: unknown;
    location?: unknown;
    diagnostics?: unknown;
  }[]) {
    const code = issue?.code;
    codes.push(typeof code === 'string' && ISSUE_TYPES.has(code) ? code : 'unknown');
    const paths = [
      ...(Array.isArray(issue?.expression) ? (issue.expression as unknown[]) : []),
      ...(Array.isArray(issue?.location) ? (issue.location as unknown[]) : []),
    ];
    type ??= paths.map(named).find((t) => t !== undefined);
    if (type === undefined && typeof issue?.diagnostics === 'string') {
      const text = issue.diagnostics;
      type = requested.find((t) => new RegExp(`\\b${t}\\b`).test(text));
    }
  }
  return { type: type ?? 'unknown', codes: codes.length === 0 ? ['unknown'] : codes };
}
