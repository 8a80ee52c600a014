import { hash32, hashString, Rng } from './prng.ts';
import {
  CLINICAL_TYPES,
  isOnRequestType,
  isSparseType,
  typeOrdinal,
  type ClinicalType,
  type ResourceType,
} from './resource-types.ts';

/** The shape of the synthetic data set: the same shape and seed always give the same bytes. */
export interface DatasetShape {
  readonly seed: string;
  readonly patientsPerSite: number;
  /** Resources of each clinical type per patient. */
  readonly perPatient: Readonly<Record<ClinicalType, number>>;
  /** Newest possible meta.lastUpdated (ms since epoch); every resource is dated before it. */
  readonly epochMs: number;
  /** lastUpdated values spread uniformly over this many ms before epochMs. */
  readonly historyMs: number;
  /** Share of clinical resources that are deleted (absent from output, listed in `deleted`). */
  readonly deletedFraction: number;
}

/** What can be known about a resource without building it: cheap enough to scan millions. */
export interface ResourceMeta {
  readonly deleted: boolean;
  /** For a deleted resource, the time of deletion. */
  readonly lastUpdatedMs: number;
  readonly versionId: number;
}

/** Hash salts: one per independent stream of randomness. */
export const SALT = { meta: 1, time: 2, body: 3, identity: 4 } as const;

/**
 * Index arithmetic of one site. Patient i owns clinical resources
 * [i * perPatient[type], (i + 1) * perPatient[type]) of each type, so a patient range maps to a
 * contiguous index range and a resource's patient is a division away.
 */
export class SiteLayout {
  readonly site: string;
  readonly shape: DatasetShape;
  /** Numeric salt of (seed, site). */
  readonly salt: number;

  constructor(shape: DatasetShape, site: string) {
    this.shape = shape;
    this.site = site;
    this.salt = hashString(`${shape.seed}\u0000${site}`);
  }

  /** Number of resources of a type at this site (deleted ones included). */
  count(type: ResourceType): number {
    if (type === 'Patient') return this.shape.patientsPerSite;
    const every = this.everyNth(type);
    return every === undefined
      ? this.shape.patientsPerSite * this.perPatient(type)
      : Math.ceil(this.shape.patientsPerSite / every);
  }

  /** Patient index that owns resource `index` of a type. */
  patientOf(type: ResourceType, index: number): number {
    if (type === 'Patient') return index;
    const every = this.everyNth(type);
    return every === undefined ? Math.floor(index / this.perPatient(type)) : index * every;
  }

  /** Index range [from, to) of a type owned by patients [patientFrom, patientTo). */
  indexRange(type: ResourceType, patientFrom: number, patientTo: number): [number, number] {
    const every = type === 'Patient' ? undefined : this.everyNth(type);
    if (every !== undefined) return [Math.ceil(patientFrom / every), Math.ceil(patientTo / every)];
    const per = type === 'Patient' ? 1 : this.perPatient(type);
    return [patientFrom * per, patientTo * per];
  }

  /** For a rate below one per patient (1/k), k: only every k-th patient (0, k, 2k, ...) owns one. */
  private everyNth(type: Exclude<ResourceType, 'Patient'>): number | undefined {
    // On-request types (resource-types.ts) are one per patient, whatever the shape says.
    if (isOnRequestType(type)) return undefined;
    const per = this.shape.perPatient[type];
    return per > 0 && per < 1 ? Math.round(1 / per) : undefined;
  }

  /** Deleted flag, lastUpdated and versionId of a resource, from two hashes. */
  meta(type: ResourceType, index: number): ResourceMeta {
    const h = hash32(this.salt, typeOrdinal(type), index, SALT.meta);
    const t = hash32(this.salt, typeOrdinal(type), index, SALT.time);
    // Patients are never deleted, so every clinical resource keeps a live subject.
    const deleted = type !== 'Patient' && h / 4294967296 < this.shape.deletedFraction;
    const historySeconds = Math.max(1, Math.floor(this.shape.historyMs / 1000));
    const lastUpdatedMs = this.shape.epochMs - (t % historySeconds) * 1000 - ((h >>> 8) % 1000);
    return { deleted, lastUpdatedMs, versionId: 1 + ((h >>> 20) % 4) };
  }

  /** The random stream of one purpose for one resource. */
  rng(type: ResourceType, index: number, salt: number): Rng {
    return new Rng(hash32(this.salt, typeOrdinal(type), index, salt));
  }

  private perPatient(type: Exclude<ResourceType, 'Patient'>): number {
    // On-request types (resource-types.ts): one per patient, whatever the shape says.
    return isOnRequestType(type) ? 1 : this.shape.perPatient[type];
  }
}

/**
 * Resources per patient of the types added after the first seven (US Core, billing, and the
 * organizations and people they refer to), when one count is given for all: one for every tenth
 * patient, so data sets and CI runs grow by about a tenth, not double. A per-type count overrides.
 */
export const SPARSE_PER_PATIENT = 0.1;

/** perPatient with the same count for every clinical type (the sparse types: see SPARSE_PER_PATIENT). */
export function uniformPerPatient(count: number): Record<ClinicalType, number> {
  return Object.fromEntries(
    CLINICAL_TYPES.map((type) => [type, isSparseType(type) && count > 0 ? SPARSE_PER_PATIENT : count]),
  ) as Record<ClinicalType, number>;
}
