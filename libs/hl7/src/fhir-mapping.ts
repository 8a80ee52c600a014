import { PipelineError } from '@ehrflow/errors';
import * as builder from '@ehrflow/fhir/resource-builder';
import type { Hl7View } from './message.ts';

/**
 * HL7 v2 → FHIR R4 resources, driven by a mapping file (`schemas/hl7/v2-mapping.json`): a data
 * steward edits positions, types and code maps there, not code. The file is compiled and checked
 * when it loads (a bad position or an unknown type fails at start, not at message 3 million), and
 * every problem a message has against it is an {@link Hl7Issue} with a position, never a value.
 */

const HL7_TYPES = ['ST', 'ID', 'IS', 'DT', 'TS', 'NM'] as const;
export type Hl7Type = (typeof HL7_TYPES)[number];

interface FieldRule extends builder.MappingFieldRule<Hl7Type> {
  readonly repeats?: boolean;
  readonly fromEvent?: Readonly<Record<string, string>>;
  readonly map?: Readonly<Record<string, string>>;
  readonly when?: Readonly<Record<string, string>>;
  readonly part?: 'low' | 'high';
}

interface ResourceRule {
  /** The contract the rule fills; defaults to the rule's key (a key such as `MedicationRequest.RXO` needs it). */
  readonly resourceType?: string;
  readonly segment: string;
  readonly each?: boolean;
  /**
   * With `each`: segments read at the same order as the rule's segment (e.g. `["ORC", "RXR"]` for an
   * RXE). The first names the group start: the nth RXE belongs to the ORC before it, and every
   * listed segment is read at its first occurrence between that ORC and the next one.
   */
  readonly group?: readonly string[];
  readonly id: string;
  readonly fields: readonly FieldRule[];
}

interface MappingFile {
  readonly versions: readonly string[];
  readonly encodingCharacters: string;
  readonly unexpectedSegments: 'quarantine' | 'drift';
  readonly timezone: string;
  readonly messages: Readonly<
    Record<string, { readonly segments: readonly string[]; readonly resources: readonly string[] }>
  >;
  readonly resources: Readonly<Record<string, ResourceRule>>;
}

/** A problem of one message against the mapping: kind and position only. */
export interface Hl7Issue {
  readonly kind:
    | 'missing_required'
    | 'type_mismatch'
    | 'unexpected_segment'
    | 'unexpected_repetition'
    | 'version_changed'
    | 'encoding_changed'
    | 'unknown_message_type';
  /** `PID-7`, `ZPI`, `MSH-12`, … */
  readonly position: string;
  /** The resource type the position feeds, when one. */
  readonly resourceType: string | null;
  /** What the mapping expects (an HL7 type, a version list). */
  readonly expected: string | null;
  /** The kind of what was found (`text`, `digits`, `empty`, a version number) — never the value. */
  readonly observed: string | null;
  /** False for drift that does not stop the message (`unexpectedSegments: drift`). */
  readonly blocking: boolean;
}

/** One resource built from a message. */
export type Hl7Resource = builder.BuiltResource;

/** A message is taken whole or not at all. */
export type Hl7MappingResult = builder.FormatMappingResult<Hl7Issue>;

export interface Hl7Mapping extends builder.FormatMapping<Hl7View, Hl7MappingResult> {
  readonly messageTypes: readonly string[];
}

const POSITION = /^([A-Z][A-Z0-9]{2})-(\d{1,3})(?:\.(\d{1,2}))?$/;
const TEMPLATE_PART = /\{([A-Z][A-Z0-9]{2}-\d{1,3}(?:\.\d{1,2})?)\}/g;

/** Reads and compiles a mapping file. @throws PipelineError CONFIG_INVALID listing every problem by path. */
export function loadHl7Mapping(path: string): Hl7Mapping {
  return compileHl7Mapping(builder.readMappingFile(path, 'HL7'));
}

export function compileHl7Mapping(json: unknown): Hl7Mapping {
  const file = json as MappingFile;
  const problems: string[] = [];
  const checkPosition = (where: string, pos: string) => {
    if (!POSITION.test(pos)) problems.push(`${where}: position ${pos} is not SEG-field[.component]`);
  };
  if (
    !Array.isArray(file.versions) ||
    typeof file.encodingCharacters !== 'string' ||
    typeof file.messages !== 'object' ||
    typeof file.resources !== 'object'
  ) {
    throw new PipelineError(
      'CONFIG_INVALID',
      'HL7 mapping needs versions, encodingCharacters, messages and resources',
    );
  }
  for (const [type, rule] of Object.entries(file.resources)) {
    if (!/^[A-Z][A-Z0-9]{2}$/.test(rule.segment)) problems.push(`resources.${type}.segment`);
    if (rule.resourceType !== undefined && !/^[A-Z][A-Za-z]+$/.test(rule.resourceType))
      problems.push(`resources.${type}.resourceType`);
    else if (rule.resourceType === undefined && !/^[A-Z][A-Za-z]+$/.test(type))
      problems.push(`resources.${type}: a key that is not a resource type needs resourceType`);
    for (const [i, seg] of (rule.group ?? []).entries())
      if (!/^[A-Z][A-Z0-9]{2}$/.test(seg) || rule.each !== true)
        problems.push(`resources.${type}.group[${i}]`);
    for (const m of rule.id.matchAll(TEMPLATE_PART)) checkPosition(`resources.${type}.id`, m[1] as string);
    for (const [i, f] of rule.fields.entries()) {
      const where = `resources.${type}.fields[${i}]`;
      if (f.from !== undefined) checkPosition(where, f.from);
      problems.push(
        ...builder.fieldRuleProblems(where, f, HL7_TYPES, { name: 'fromEvent', value: f.fromEvent }),
      );
      for (const m of (f.template ?? '').matchAll(TEMPLATE_PART)) checkPosition(where, m[1] as string);
      for (const pos of Object.keys(f.when ?? {})) checkPosition(`${where}.when`, pos);
    }
  }
  for (const [type, rule] of Object.entries(file.messages)) {
    if (!/^[A-Z0-9]{3}\^[A-Z0-9]{3}$/.test(type)) problems.push(`messages.${type}`);
    for (const r of rule.resources)
      if (file.resources[r] === undefined) problems.push(`messages.${type}: no resource rule for ${r}`);
  }
  if (problems.length > 0) {
    throw new PipelineError('CONFIG_INVALID', `HL7 mapping invalid: ${problems.join('; ')}`, {
      context: { problems: problems.length },
    });
  }
  return {
    resourceTypes: [...new Set(Object.entries(file.resources).map(([key, r]) => r.resourceType ?? key))],
    messageTypes: Object.keys(file.messages),
    map: (view) => mapMessage(file, view),
  };
}

function at(view: Hl7View, pos: string, occurrence: Readonly<Record<string, number>>): string {
  const m = POSITION.exec(pos) as RegExpExecArray;
  const seg = m[1] as string;
  const field = Number(m[2]);
  const component = m[3] === undefined ? undefined : Number(m[3]);
  const occ = occurrence[seg] ?? 1;
  return occ === 0 ? '' : view.value(seg, field, component ?? 1, 1, occ);
}

/** The kind of a value, for issues: never the value. */
export function kindOf(value: string): string {
  if (value === '') return 'empty';
  if (/^\d+$/.test(value)) return 'digits';
  if (/^[+-]?\d+\.\d+$/.test(value)) return 'decimal';
  return 'text';
}

const DT = /^(\d{4})(\d{2})?(\d{2})?$/;
const TS = /^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\.\d{1,4})?([+-]\d{4})?$/;

/** Converts a value of an HL7 type into its FHIR JSON form, or undefined when it is not of that type. */
export function convert(type: Hl7Type, value: string, timezone: string): string | number | undefined {
  switch (type) {
    case 'ST':
    case 'ID':
    case 'IS':
      return value;
    case 'NM':
      return /^[+-]?\d+(\.\d+)?$/.test(value) ? Number(value) : undefined;
    case 'DT': {
      const m = DT.exec(value);
      if (!m) return undefined;
      return [m[1], m[2], m[3]].filter((x) => x !== undefined).join('-');
    }
    case 'TS': {
      const m = TS.exec(value);
      if (!m) return undefined;
      const date = [m[1], m[2], m[3]].filter((x) => x !== undefined).join('-');
      if (m[4] === undefined) return date;
      const tz = m[8] === undefined ? timezone : `${m[8].slice(0, 3)}:${m[8].slice(3)}`;
      return `${date}T${m[4]}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7] ?? ''}${tz}`;
    }
  }
}

function mapMessage(file: MappingFile, view: Hl7View): Hl7MappingResult {
  const issues: Hl7Issue[] = [];
  const h = view.header;
  if (!file.versions.includes(h.version)) {
    issues.push({
      kind: 'version_changed',
      position: 'MSH-12',
      resourceType: null,
      expected: file.versions.join('|'),
      observed: /^[0-9.]{1,8}$/.test(h.version) ? h.version : kindOf(h.version),
      blocking: true,
    });
  }
  if (h.encoding.slice(1) !== file.encodingCharacters) {
    issues.push({
      kind: 'encoding_changed',
      position: 'MSH-2',
      resourceType: null,
      expected: 'standard',
      observed: 'other',
      blocking: true,
    });
  }
  const message = file.messages[h.messageType];
  if (message === undefined) {
    issues.push({
      kind: 'unknown_message_type',
      position: 'MSH-9',
      resourceType: null,
      expected: null,
      observed: /^[A-Z0-9]{3}(\^[A-Z0-9]{3})?$/.test(h.messageType) ? h.messageType : 'other',
      blocking: true,
    });
    return { issues, resources: [] };
  }
  const allowed = new Set(message.segments);
  const unexpected = new Set(view.segmentNames.filter((s) => !allowed.has(s)));
  for (const seg of unexpected) {
    issues.push({
      kind: 'unexpected_segment',
      position: /^[A-Z][A-Z0-9]{2}$/.test(seg) ? seg : 'other',
      resourceType: null,
      expected: null,
      observed: seg.startsWith('Z') ? 'z-segment' : 'segment',
      blocking: file.unexpectedSegments === 'quarantine',
    });
  }
  const event = h.messageType.split('^')[1] ?? '';
  const resources: Hl7Resource[] = [];
  for (const key of message.resources) {
    const rule = file.resources[key] as ResourceRule;
    const type = rule.resourceType ?? key;
    const count = view.count(rule.segment);
    const occurrences = rule.each ? Array.from({ length: count }, (_, i) => i + 1) : count > 0 ? [1] : [];
    for (const occ of occurrences) {
      const occurrence = {
        ...(rule.group === undefined
          ? {}
          : groupOccurrences(view.segmentNames, rule.segment, occ, rule.group)),
        [rule.segment]: occ,
      };
      const where = (pos: string) =>
        rule.each && pos.startsWith(rule.segment) ? `${pos.split('-')[0]}[${occ}]-${pos.split('-')[1]}` : pos;
      const resource: Record<string, unknown> = { resourceType: type };
      for (const f of rule.fields) {
        if (
          f.when &&
          !Object.entries(f.when).every(([pos, want]) =>
            want === '*' ? at(view, pos, occurrence) !== '' : at(view, pos, occurrence) === want,
          )
        )
          continue;
        if (f.value !== undefined) builder.setPath(resource, f.path, f.value);
        else if (f.template !== undefined)
          builder.setPath(resource, f.path, fill(f.template, view, occurrence));
        else if (f.fromEvent !== undefined) {
          const v = f.fromEvent[event];
          if (v !== undefined) builder.setPath(resource, f.path, v);
        } else if (f.from !== undefined && f.type !== undefined) {
          const seg = f.from.slice(0, 3);
          const fieldNo = Number((POSITION.exec(f.from) as RegExpExecArray)[2]);
          if (f.repeats === false && view.repetitions(seg, fieldNo, occurrence[seg] ?? 1) > 1) {
            issues.push({
              kind: 'unexpected_repetition',
              position: where(f.from),
              resourceType: type,
              expected: 'one',
              observed: 'repeated',
              blocking: true,
            });
          }
          let raw = at(view, f.from, occurrence);
          if (f.part !== undefined) raw = (f.part === 'low' ? raw.split('-')[0] : raw.split('-')[1]) ?? '';
          if (raw === '') {
            if (f.required)
              issues.push({
                kind: 'missing_required',
                position: where(f.from),
                resourceType: type,
                expected: f.type,
                observed: 'empty',
                blocking: true,
              });
            continue;
          }
          const converted = convert(f.type, raw, file.timezone);
          if (converted === undefined) {
            issues.push({
              kind: 'type_mismatch',
              position: where(f.from),
              resourceType: type,
              expected: f.type,
              observed: kindOf(raw),
              blocking: true,
            });
            continue;
          }
          builder.setPath(resource, f.path, f.map ? (f.map[String(converted)] ?? converted) : converted);
        }
      }
      const id = builder.toFhirId(fill(rule.id, view, occurrence));
      resource.id = id;
      const lastUpdated = convert('TS', view.value('MSH', 7), file.timezone);
      resource.meta = {
        versionId: builder.toFhirId(h.controlId),
        ...(typeof lastUpdated === 'string' ? { lastUpdated } : {}),
      };
      resources.push({ resourceType: type, id, resource });
    }
  }
  const blocking = issues.some((i) => i.blocking);
  return { issues, resources: blocking ? [] : resources };
}

/**
 * Occurrences of the segments of an order group for the `occ`th `segment`: the group runs from the
 * last `group[0]` before it to the next `group[0]`; each listed segment is taken at its first
 * occurrence inside that range, 0 (nothing) when it has none there.
 */
export function groupOccurrences(
  names: readonly string[],
  segment: string,
  occ: number,
  group: readonly string[],
): Record<string, number> {
  const start = group[0] as string;
  let at = -1;
  for (let i = 0, seen = 0; i < names.length; i += 1)
    if (names[i] === segment && ++seen === occ) {
      at = i;
      break;
    }
  let from = 0;
  for (let i = at; i >= 0; i -= 1)
    if (names[i] === start) {
      from = i;
      break;
    }
  let to = names.length;
  for (let i = at + 1; i < names.length; i += 1)
    if (names[i] === start) {
      to = i;
      break;
    }
  const out: Record<string, number> = {};
  for (const seg of group) {
    out[seg] = 0;
    for (let i = 0, seen = 0; i < to; i += 1) {
      if (names[i] !== seg) continue;
      seen += 1;
      if (i >= from) {
        out[seg] = seen;
        break;
      }
    }
  }
  return out;
}

function fill(template: string, view: Hl7View, occurrence: Readonly<Record<string, number>>): string {
  return template.replace(TEMPLATE_PART, (_, pos: string) => at(view, pos, occurrence));
}
