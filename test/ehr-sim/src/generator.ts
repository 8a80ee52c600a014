import {
  CLINICAL_BUILDERS,
  minimalResource,
  type BuildContext,
  type FhirResource,
} from './clinical-resources.ts';
import { US_CORE_BUILDERS } from './us-core-resources.ts';
import { SALT, SiteLayout, type DatasetShape, type ResourceMeta } from './dataset.ts';
import { patientIdentity, type Canary, type CanaryValues, type PatientIdentity } from './identity.ts';
import { narrative } from './notes.ts';
import { SERVED_TYPES, resourceId, type ResourceType } from './resource-types.ts';
import { flag } from './uncontracted-resources.ts';

/** FHIR identifier system of a site's medical record numbers. */
export function mrnSystem(site: string): string {
  return `urn:ehrflow:mrn:${site}`;
}

export const SSN_SYSTEM = 'http://hl7.org/fhir/sid/us-ssn';

/**
 * Builds any resource of any site on demand from (seed, site, type, index). Nothing is cached
 * except one small layout per site, so the data set can be as large as the index space, unless
 * {@link ResourceGenerator.keepLines} is called (benchmarks: the rendered lines of the sites,
 * kept so that serving them costs the process no more than a real server's stored files).
 */
export class ResourceGenerator {
  readonly shape: DatasetShape;
  private readonly layouts = new Map<string, SiteLayout>();
  private readonly canaries = new Map<string, CanaryValues>();
  /** Rendered NDJSON lines by `site\ntype\nindex`, when {@link keepLines} was called. */
  private lines: Map<string, string> | undefined;

  constructor(shape: DatasetShape, sites: readonly string[], canaries: readonly Canary[] = []) {
    this.shape = shape;
    for (const site of sites) this.layouts.set(site, new SiteLayout(shape, site));
    for (const canary of canaries) this.canaries.set(`${canary.site}/${canary.patientIndex}`, canary);
  }

  /** The layout of a configured site. */
  layout(site: string): SiteLayout {
    const layout = this.layouts.get(site);
    if (layout === undefined) throw new RangeError(`unknown site ${site}`);
    return layout;
  }

  hasSite(site: string): boolean {
    return this.layouts.has(site);
  }

  /** Demographics of a patient, canary values applied. */
  identity(site: string, patientIndex: number): PatientIdentity {
    return patientIdentity(this.layout(site), patientIndex, this.canaries.get(`${site}/${patientIndex}`));
  }

  /**
   * Renders every resource of the given sites now and keeps the lines, so that {@link line}
   * hands them out without building them again. The lines are the same bytes either way; the
   * memory is about the sites' NDJSON size. Returns the number of lines kept.
   */
  keepLines(sites: readonly string[]): number {
    this.lines ??= new Map();
    for (const site of sites) {
      const layout = this.layout(site);
      for (const type of SERVED_TYPES) {
        for (let index = 0, n = layout.count(type); index < n; index++) {
          this.lines.set(lineKey(site, type, index), renderLine(this.resource(site, type, index)));
        }
      }
    }
    return this.lines.size;
  }

  /** Resource `index` as one NDJSON line (JSON and a newline), kept or rendered now. */
  line(site: string, type: ResourceType, index: number): string {
    return this.lines?.get(lineKey(site, type, index)) ?? renderLine(this.resource(site, type, index));
  }

  /** Cheap metadata (deleted, lastUpdated, version) without building the resource. */
  meta(site: string, type: ResourceType, index: number): ResourceMeta {
    return this.layout(site).meta(type, index);
  }

  /** Resource `index` of a type at a site, as it would be served (deleted ones too). */
  resource(site: string, type: ResourceType, index: number): FhirResource {
    const layout = this.layout(site);
    if (!Number.isInteger(index) || index < 0 || index >= layout.count(type)) {
      throw new RangeError(`${type} index ${index} is outside 0..${layout.count(type) - 1}`);
    }
    const meta = layout.meta(type, index);
    const patientIndex = layout.patientOf(type, index);
    const ctx: BuildContext = {
      rng: layout.rng(type, index, SALT.body),
      id: resourceId(type, index),
      meta: {
        versionId: String(meta.versionId),
        lastUpdated: new Date(meta.lastUpdatedMs).toISOString(),
        source: `#${site}`,
      },
      lastUpdatedMs: meta.lastUpdatedMs,
      patient: this.identity(site, patientIndex),
      patientId: resourceId('Patient', patientIndex),
      encounterId: encounterIdOf(layout, type, index, patientIndex),
      organization: site,
    };
    if (type === 'Patient') return patient(ctx, site);
    if (type === 'Flag') return flag(ctx);
    return (CLINICAL_BUILDERS[type] ?? US_CORE_BUILDERS[type])?.(ctx) ?? minimalResource(ctx, type);
  }
}

/** A resource as one NDJSON line. */
export function renderLine(resource: FhirResource): string {
  return `${JSON.stringify(resource)}\n`;
}

function lineKey(site: string, type: ResourceType, index: number): string {
  return `${site}\n${type}\n${index}`;
}

/** An encounter of the same patient (never the resource itself), or undefined when there are none. */
function encounterIdOf(
  layout: SiteLayout,
  type: ResourceType,
  index: number,
  patientIndex: number,
): string | undefined {
  const perPatient = layout.count('Encounter') / layout.shape.patientsPerSite;
  if (type === 'Patient' || type === 'Encounter' || perPatient < 1) return undefined;
  return resourceId('Encounter', patientIndex * perPatient + (index % perPatient));
}

function patient(ctx: BuildContext, site: string): FhirResource {
  const p = ctx.patient;
  const v2 = 'http://terminology.hl7.org/CodeSystem/v2-0203';
  return {
    resourceType: 'Patient',
    id: ctx.id,
    meta: ctx.meta,
    text: narrative(
      `${p.given} ${p.middle} ${p.family}, born ${p.birthDate}, MRN ${p.mrn}, ${p.line}, ${p.city}`,
    ),
    identifier: [
      {
        use: 'usual',
        type: { coding: [{ system: v2, code: 'MR', display: 'Medical record number' }] },
        system: mrnSystem(site),
        value: p.mrn,
      },
      {
        use: 'official',
        type: { coding: [{ system: v2, code: 'SS', display: 'Social Security number' }] },
        system: SSN_SYSTEM,
        value: p.ssn,
      },
    ],
    active: true,
    name: [{ use: 'official', family: p.family, given: [p.given, p.middle] }],
    telecom: [
      { system: 'phone', value: p.phone, use: 'home' },
      { system: 'email', value: p.email, use: 'home' },
    ],
    gender: p.gender,
    birthDate: p.birthDate,
    address: [
      {
        use: 'home',
        type: 'physical',
        line: [p.line],
        city: p.city,
        state: p.state,
        postalCode: p.postalCode,
        country: 'US',
      },
    ],
    maritalStatus: {
      coding: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus',
          code: ctx.rng.pick(['M', 'S', 'W', 'D']),
        },
      ],
    },
    communication: [
      {
        language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en-US' }], text: 'English' },
        preferred: true,
      },
    ],
    managingOrganization: { display: `${site} Medical Center (synthetic)` },
  };
}
