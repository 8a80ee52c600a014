import { hash } from 'node:crypto';
import { PipelineError } from '@ehrflow/errors';
import { isJsonObject } from './fhir-values.ts';

/**
 * The deterministic id of one version of one resource from one source: the first 32 hex
 * characters of SHA-256 over `sourceId \0 resourceType \0 logicalId \0 versionOrLastUpdated`.
 * Re-extraction and redelivery give the same id, so every stage downstream can deduplicate.
 *
 * @param versionOrLastUpdated `meta.versionId`, else `meta.lastUpdated`, else '' (see {@link versionKeyOf}).
 * @throws PipelineError CONTRACT_VIOLATION when a part is empty (except the version) or contains NUL,
 *   which would make two different inputs hash alike.
 * @see https://hl7.org/fhir/R4/resource.html#Meta
 */
export function recordIdOf(
  sourceId: string,
  resourceType: string,
  logicalId: string,
  versionOrLastUpdated: string,
): string {
  checkPart('sourceId', sourceId, false);
  checkPart('resourceType', resourceType, false);
  checkPart('logicalId', logicalId, false);
  checkPart('versionOrLastUpdated', versionOrLastUpdated, true);
  // One-shot `hash`: the extractor computes an id per resource, and a `createHash` object per
  // call costs about twice as much.
  return hash(
    'sha256',
    `${sourceId}\u0000${resourceType}\u0000${logicalId}\u0000${versionOrLastUpdated}`,
    'hex',
  ).slice(0, 32);
}

function checkPart(name: string, part: string, mayBeEmpty: boolean): void {
  if (part.includes('\u0000') || (part === '' && !mayBeEmpty)) {
    throw new PipelineError('CONTRACT_VIOLATION', `record id part ${name} is empty or contains NUL`, {
      context: { part: name },
    });
  }
}

/** The version part of a record id for a resource: `meta.versionId`, else `meta.lastUpdated`, else ''. */
export function versionKeyOf(resource: Readonly<Record<string, unknown>>): string {
  const meta = resource.meta;
  if (!isJsonObject(meta)) return '';
  if (typeof meta.versionId === 'string' && meta.versionId !== '') return meta.versionId;
  if (typeof meta.lastUpdated === 'string') return meta.lastUpdated;
  return '';
}
