/**
 * `@ehrflow/extractor`: pulls FHIR R4 data from EHR sources (Bulk Data `$export` backfills and
 * `_lastUpdated` incremental syncs) into encrypted raw envelopes on `ehr.raw`, with job state and
 * checkpoints in PostgreSQL so a killed job resumes where it stopped.
 */
export { buildExtractor, type Extractor } from './app.ts';
export { extractorEnv, type ExtractorEnv } from './config.ts';
export { createJobManager, JobRequestError, type JobManager, type StartJobRequest } from './job-manager.ts';
export { createJobStore, type JobRecord, type JobStore } from './job-store.ts';
export type { JobView } from './job-view.ts';
export { loadSources, parseSources, type SourceConfig } from './sources.ts';
export { parseManifest, type ExportManifest, type ManifestFile } from './manifest.ts';
