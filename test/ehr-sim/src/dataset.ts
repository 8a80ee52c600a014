import { hash32, hashString, Rng } from './prng.ts';
import {
  CLINICAL_TYPES,
  isOnRequestType,
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
    return type === 'Patient'
      ? this.shape.patientsPerSite
      : this.shape.patientsPerSite * this.perPatient(type);
  }

  /** Patient index that owns resource `index` of a type. */
  patientOf(type: ResourceType, index: number): number {
    return type === 'Patient' ? index : Math.floor(index / this.perPatient(type));
  }

  /** Index range [from, to) of a type owned by patients [patientFrom, patientTo). */
  indexRange(type: ResourceType, patientFrom: number, patientTo: number): [number, number] {
    const per = type === 'Patient' ? 1 : this.perPatient(type);
    return [patientFrom * per, patientTo * per];
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

/** perPatient with the same count for every clinical type. */
export function uniformPerPatient(count: number): Record<ClinicalType, number> {
  return Object.fromEntries(CLINICAL_TYPES.map((type) => [type, count])) as Record<ClinicalType, number>;
}
