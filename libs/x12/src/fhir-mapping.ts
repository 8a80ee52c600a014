import { PipelineError } from '@ehrflow/errors';
import * as builder from '@ehrflow/fhir/resource-builder';
import type { X12Delimiters } from './delimiters.ts';
import { tokenize, type X12Segment } from './tokenizer.ts';

/**
 * X12 transaction sets → FHIR R4 resources, driven by a mapping file (`schemas/x12/mapping.json`):
 * which guide (GS08) is which kind, which segments a set may carry, where one resource starts (a
 * claim at each subscriber `HL*…*22`, a payment at each `CLP`), where each element of the contract
 * comes from, and which segments carry PHI. The file is compiled and checked when it loads. Every
 * problem a set has against it is an {@link X12Issue} with a position, never a value.
 * @see ASC X12 005010X222A1 (837P), 005010X223A2 (837I), 005010X221A1 (835)
 */

/** AN text, ID code, R decimal, N0 integer, DT date CCYYMMDD, RD8 date range CCYYMMDD-CCYYMMDD. */
const X12_TYPES = ['AN', 'ID', 'R', 'N0', 'DT', 'RD8'] as const;
export type X12Type = (typeof X12_TYPES)[number];

interface FieldRule extends builder.MappingFieldRule<X12Type> {
  /** For RD8: which end of the range. */
  readonly part?: 'start' | 'end';
  /** The 1-based number of the line (lines only). */
  readonly sequence?: true;
  /**
   * `true`: the field applies only to a resource built from a subunit (an 837 patient loop 2000C);
   * `false`: only to one built from a unit without subunits (the subscriber is the patient).
   */
  readonly inSubunit?: boolean;
}

interface SetRule {
  readonly guide: string;
  readonly transactionSet: string;
  readonly resource: string;
  /** The segment that starts one resource, optionally with element `element` equal to `value`. */
  readonly unit: { readonly segment: string; readonly element?: number; readonly value?: string };
  /**
   * A loop nested in a unit that, when present, is the resource instead: one resource per subunit,
   * its own segments looked up first, then the unit's segments before the first subunit, then the
   * set header. In an 837 the patient loop 2000C (`HL*…*23`) under the subscriber loop 2000B.
   */
  readonly subunit?: {
    readonly segment: string;
    readonly element?: number;
    readonly value?: string;
    readonly loop?: string;
  };
  /** Segments a set of this kind may carry; any other is drift. */
  readonly segments: readonly string[];
  readonly fields: readonly FieldRule[];
  /** Every composite of these segments as one repetition of `path` (diagnosis codes from HI). */
  readonly lists?: readonly {
    readonly path: string;
    readonly segment: string;
    readonly component: number;
    readonly fields: readonly {
      readonly path: string;
      readonly sequence?: true;
      readonly code?: true;
      readonly value?: string;
    }[];
  }[];
  /** Lines: each `start` segment begins one repetition of `path` (`item`). */
  readonly lines?: { readonly path: string; readonly start: string; readonly fields: readonly FieldRule[] };
}

interface MappingFile {
  readonly versions: readonly string[];
  /** Segment id → PHI class of what it carries (names, addresses, birth dates, identifiers). */
  readonly phiSegments: Readonly<Record<string, string>>;
  readonly sets: Readonly<Record<string, SetRule>>;
}

/** A problem of one set against the mapping: kind and position only. */
export interface X12Issue {
  readonly kind:
    'missing_required' | 'type_mismatch' | 'unexpected_segment' | 'unknown_set' | 'version_changed';
  /** `CLM-02`, `ZZZ`, `GS-08`. */
  readonly position: string;
  /** Position of the segment in the set (ST is 1), when one. */
  readonly segmentPosition: number | null;
  readonly resourceType: string | null;
  readonly expected: string | null;
  /** The kind of what was found (`text`, `digits`, `empty`), never the value. */
  readonly observed: string | null;
}

/** One resource built from a transaction set. */
export type X12Resource = builder.BuiltResource;

/** A set is taken whole or not at all: any issue leaves `resources` empty. */
export interface X12MappingResult extends builder.FormatMappingResult<X12Issue> {
  /** `837P`, `837I`, `835`, or null when the guide is not mapped. */
  readonly kind: string | null;
}

/** Maps one self-contained transaction set (ISA, GS, ST…SE bytes). */
export interface X12Mapping extends builder.FormatMapping<Buffer, X12MappingResult> {
  readonly kinds: readonly string[];
}

const POSITION = /^([A-Z][A-Z0-9]{1,2})(?:\[([A-Z0-9]{1,3})\])?-(\d{2})(?:\.(\d{1,2}))?$/;
const TEMPLATE_PART = /\{([^}]+)\}/g;

/** Reads and compiles a mapping file. @throws PipelineError CONFIG_INVALID listing every problem by path. */
export function loadX12Mapping(path: string, phiOf?: PhiLookup): X12Mapping {
  return compileX12Mapping(builder.readMappingFile(path, 'X12'), phiOf);
}

/**
 * The PHI class a contract gives a FHIR path of a resource type (`Claim`, `patient.reference`), or
 * undefined when no contract field has that path. Used to prove that whatever comes from a PHI
 * segment lands in a field the contract classifies as PHI.
 */
export type PhiLookup = (resourceType: string, path: string) => string | undefined;

export function compileX12Mapping(json: unknown, phiOf?: PhiLookup): X12Mapping {
  const file = json as MappingFile;
  if (
    typeof file !== 'object' ||
    file === null ||
    typeof file.sets !== 'object' ||
    typeof file.phiSegments !== 'object'
  ) {
    throw new PipelineError('CONFIG_INVALID', 'X12 mapping needs versions, phiSegments and sets');
  }
  const problems: string[] = [];
  const positionsOf = (f: FieldRule): string[] =>
    f.from !== undefined
      ? [f.from]
      : [...(f.template ?? '').matchAll(TEMPLATE_PART)].map((m) => m[1] as string);
  const checkField = (where: string, resource: string, f: FieldRule, prefix: string) => {
    problems.push(...builder.fieldRuleProblems(where, f, X12_TYPES, { name: 'sequence', value: f.sequence }));
    for (const pos of positionsOf(f)) {
      if (!POSITION.test(pos)) {
        problems.push(`${where}: position ${pos} is not SEG[qualifier]-NN[.c]`);
        continue;
      }
      const segment = (POSITION.exec(pos) as RegExpExecArray)[1] as string;
      const phi = file.phiSegments[segment];
      if (phi !== undefined && phiOf !== undefined) {
        const contractPath = `${prefix}${f.path}`.replace(/\[\d+\]/g, '');
        const declared = phiOf(resource, contractPath);
        if (declared === undefined || declared === 'none')
          problems.push(
            `${where}: ${segment} carries PHI but ${resource}.${contractPath} is not a PHI field of the contract`,
          );
      }
    }
  };
  for (const [kind, rule] of Object.entries(file.sets)) {
    for (const [i, f] of rule.fields.entries()) checkField(`sets.${kind}.fields[${i}]`, rule.resource, f, '');
    for (const [i, f] of (rule.lines?.fields ?? []).entries())
      checkField(`sets.${kind}.lines.fields[${i}]`, rule.resource, f, `${rule.lines?.path ?? ''}.`);
    for (const [i, l] of (rule.lists ?? []).entries())
      if (file.phiSegments[l.segment] !== undefined)
        problems.push(`sets.${kind}.lists[${i}]: ${l.segment} carries PHI`);
    if (!rule.segments.includes(rule.unit.segment))
      problems.push(`sets.${kind}.unit: ${rule.unit.segment} is not among its segments`);
    if (rule.subunit !== undefined && !rule.segments.includes(rule.subunit.segment))
      problems.push(`sets.${kind}.subunit: ${rule.subunit.segment} is not among its segments`);
    for (const [i, f] of rule.fields.entries())
      if (f.inSubunit !== undefined && rule.subunit === undefined)
        problems.push(`sets.${kind}.fields[${i}]: inSubunit without a subunit`);
  }
  if (problems.length > 0) {
    throw new PipelineError('CONFIG_INVALID', `X12 mapping invalid: ${problems.join('; ')}`, {
      context: { problems: problems.length },
    });
  }
  const byGuide = new Map(Object.entries(file.sets).map(([kind, rule]) => [rule.guide, { kind, rule }]));
  return {
    resourceTypes: [...new Set(Object.values(file.sets).map((r) => r.resource))],
    kinds: Object.keys(file.sets),
    map: (payload) => mapSet(file, byGuide, payload),
  };
}

/** The kind of a value, for issues: never the value. */
export function kindOf(value: string): string {
  if (value === '') return 'empty';
  if (/^\d+$/.test(value)) return 'digits';
  if (/^[+-]?\d*\.\d+$/.test(value)) return 'decimal';
  return 'text';
}

/** Converts a value of an X12 type into its FHIR JSON form, or undefined when it is not of that type. */
export function convert(type: X12Type, value: string, part?: 'start' | 'end'): string | number | undefined {
  const date = (d: string) =>
    /^\d{8}$/.test(d) ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : undefined;
  switch (type) {
    case 'AN':
    case 'ID':
      return value;
    case 'R':
      return /^-?(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : undefined;
    case 'N0':
      return /^\d{1,9}$/.test(value) ? Number(value) : undefined;
    case 'DT':
      return date(value);
    case 'RD8': {
      const m = /^(\d{8})-(\d{8})$/.exec(value);
      return m ? date((part === 'end' ? m[2] : m[1]) as string) : undefined;
    }
  }
}

/** Segments in scope, innermost first; a position finds the first match. */
type Scope = readonly (readonly X12Segment[])[];

function lookup(
  scope: Scope,
  pos: string,
  d: X12Delimiters,
): { value: string; segment: X12Segment | undefined } {
  const m = POSITION.exec(pos) as RegExpExecArray;
  const [id, qualifier, element, component] = [
    m[1] as string,
    m[2],
    Number(m[3]),
    m[4] === undefined ? undefined : Number(m[4]),
  ];
  for (const segments of scope) {
    const s = segments.find((x) => x.id === id && (qualifier === undefined || x.elements[1] === qualifier));
    if (s === undefined) continue;
    const raw = s.elements[element] ?? '';
    const value = component === undefined ? raw : (raw.split(d.component)[component - 1] ?? '');
    return { value, segment: s };
  }
  return { value: '', segment: undefined };
}

function mapSet(
  file: MappingFile,
  byGuide: ReadonlyMap<string, { kind: string; rule: SetRule }>,
  payload: Buffer,
): X12MappingResult {
  const { segments, delimiters, problem } = tokenize(payload);
  if (problem !== undefined || delimiters === undefined) {
    return {
      kind: null,
      resources: [],
      issues: [
        {
          kind: 'unknown_set',
          position: 'ISA',
          segmentPosition: null,
          resourceType: null,
          expected: 'X12',
          observed: problem?.kind ?? 'empty',
        },
      ],
    };
  }
  const isa = segments[0] as X12Segment;
  const gs = segments.find((s) => s.id === 'GS');
  const stIndex = segments.findIndex((s) => s.id === 'ST');
  const set = segments.slice(stIndex);
  const guide = gs?.elements[8] ?? '';
  const found = byGuide.get(guide);
  if (found === undefined || stIndex < 0 || set[0]?.elements[1] !== found.rule.transactionSet) {
    return {
      kind: null,
      resources: [],
      issues: [
        {
          kind: 'unknown_set',
          position: 'GS-08',
          segmentPosition: null,
          resourceType: null,
          expected: [...byGuide.keys()].join('|'),
          observed: kindOf(guide),
        },
      ],
    };
  }
  const { kind, rule } = found;
  const issues: X12Issue[] = [];
  const positionInSet = (s: X12Segment | undefined) => (s === undefined ? null : set.indexOf(s) + 1);
  if (!file.versions.includes(isa.elements[12] ?? '')) {
    issues.push({
      kind: 'version_changed',
      position: 'ISA-12',
      segmentPosition: null,
      resourceType: rule.resource,
      expected: file.versions.join('|'),
      observed: kindOf(isa.elements[12] ?? ''),
    });
  }
  const allowed = new Set(rule.segments);
  for (const s of set) {
    if (!allowed.has(s.id))
      issues.push({
        kind: 'unexpected_segment',
        position: s.id.replace(/[^A-Z0-9]/g, ''),
        segmentPosition: positionInSet(s),
        resourceType: rule.resource,
        expected: null,
        observed: null,
      });
  }
  const isUnitStart = (s: X12Segment) =>
    s.id === rule.unit.segment &&
    (rule.unit.element === undefined || s.elements[rule.unit.element] === rule.unit.value);
  const firstUnit = set.findIndex(isUnitStart);
  const header = firstUnit < 0 ? set : set.slice(0, firstUnit);
  const units: X12Segment[][] = [];
  for (const s of firstUnit < 0 ? [] : set.slice(firstUnit)) {
    if (isUnitStart(s)) units.push([s]);
    else units.at(-1)?.push(s);
  }
  // A unit with subunits (a subscriber with patient loops) gives one resource per subunit.
  const sub = rule.subunit;
  const isSubunitStart = (s: X12Segment) =>
    sub !== undefined &&
    s.id === sub.segment &&
    (sub.element === undefined || s.elements[sub.element] === sub.value);
  const unitsOfInterest: { segments: X12Segment[]; outer: X12Segment[] | undefined }[] = [];
  for (const unit of units) {
    const first = unit.findIndex(isSubunitStart);
    if (first < 0) {
      unitsOfInterest.push({ segments: unit, outer: undefined });
      continue;
    }
    const outer = unit.slice(0, first);
    for (const s of unit.slice(first)) {
      if (isSubunitStart(s)) unitsOfInterest.push({ segments: [s], outer });
      else unitsOfInterest.at(-1)?.segments.push(s);
    }
  }
  const resources: X12Resource[] = [];
  const field = (
    target: Record<string, unknown>,
    f: FieldRule,
    scope: Scope,
    line = 0,
    inSubunit = false,
  ) => {
    if (f.inSubunit !== undefined && f.inSubunit !== inSubunit) return;
    if (f.value !== undefined) return builder.setPath(target, f.path, f.value);
    if (f.sequence === true) return builder.setPath(target, f.path, line);
    if (f.template !== undefined) {
      let missing: { pos: string; segment: X12Segment | undefined } | undefined;
      const text = f.template.replace(TEMPLATE_PART, (_all, pos: string) => {
        const v = lookup(scope, pos, delimiters);
        if (v.value === '') missing ??= { pos, segment: v.segment };
        return builder.fhirIdCharacters(v.value);
      });
      if (missing !== undefined) {
        if (f.required === true)
          issues.push({
            kind: 'missing_required',
            position: missing.pos,
            segmentPosition: positionInSet(missing.segment),
            resourceType: rule.resource,
            expected: null,
            observed: 'empty',
          });
        return;
      }
      return builder.setPath(target, f.path, text);
    }
    const { value, segment } = lookup(scope, f.from as string, delimiters);
    const elementIssue = (kind: 'missing_required' | 'type_mismatch', observed: string): X12Issue => ({
      kind,
      position: f.from as string,
      segmentPosition: positionInSet(segment),
      resourceType: rule.resource,
      expected: f.type ?? null,
      observed,
    });
    if (value === '') {
      if (f.required === true) issues.push(elementIssue('missing_required', 'empty'));
      return;
    }
    const converted = convert(f.type as X12Type, value, f.part);
    if (converted === undefined) {
      issues.push(elementIssue('type_mismatch', kindOf(value)));
      return;
    }
    builder.setPath(target, f.path, f.path === 'id' ? builder.toFhirId(String(converted)) : converted);
  };
  for (const { segments: unit, outer } of unitsOfInterest) {
    const resource: Record<string, unknown> = { resourceType: rule.resource };
    const scope: Scope = outer === undefined ? [unit, header] : [unit, outer, header];
    for (const f of rule.fields) field(resource, f, scope, 0, outer !== undefined);
    for (const list of rule.lists ?? []) {
      let n = 0;
      for (const s of unit.filter((x) => x.id === list.segment)) {
        for (const composite of s.elements.slice(1)) {
          const code = composite.split(delimiters.component)[list.component - 1] ?? '';
          if (code === '') continue;
          const entry: Record<string, unknown> = {};
          n += 1;
          for (const lf of list.fields)
            builder.setPath(entry, lf.path, lf.sequence ? n : lf.code ? code : lf.value);
          builder.setPath(resource, `${list.path}[${n - 1}]`, entry);
        }
      }
    }
    if (rule.lines !== undefined) {
      const lines: X12Segment[][] = [];
      for (const s of unit) {
        if (s.id === rule.lines.start) lines.push([s]);
        else lines.at(-1)?.push(s);
      }
      for (const [i, line] of lines.entries()) {
        const entry: Record<string, unknown> = {};
        for (const f of rule.lines.fields) field(entry, f, [line, ...scope], i + 1);
        builder.setPath(resource, `${rule.lines.path}[${i}]`, entry);
      }
    }
    resources.push({
      resourceType: rule.resource,
      id: typeof resource.id === 'string' ? resource.id : '',
      resource,
    });
  }
  if (unitsOfInterest.length === 0)
    issues.push({
      kind: 'missing_required',
      position: rule.unit.segment,
      segmentPosition: null,
      resourceType: rule.resource,
      expected: null,
      observed: 'empty',
    });
  return { kind, issues, resources: issues.length > 0 ? [] : resources };
}

/** The ST02 of a self-contained set payload (a control number; for positions in quarantine reasons). */
export function setControlOf(payload: Buffer): string {
  return tokenize(payload).segments.find((s) => s.id === 'ST')?.elements[2] ?? '';
}
