import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { PipelineError } from '@ehrflow/errors';
import { findSchemasDir } from '@ehrflow/contracts';

/**
 * A de-identification policy is data: which method applies to which field of which contract. The
 * contract's own `deid` attribute is the default; a policy overrides it per method
 * (`methodOverrides`, e.g. "every dateShift field becomes year-only") and per field (`contracts`).
 * Processors are code, one module per method under `processors/`.
 */

/** Every method a rule may name. */
export const METHODS = ['drop', 'hash', 'dateShift', 'generalize', 'scrub', 'withhold', 'keep'] as const;
export type Method = (typeof METHODS)[number];

/** What `generalize` produces: a year, a birth year capped at 90+, a three-digit ZIP, an age capped at 90+. */
export const GENERALIZE_TARGETS = ['year', 'birthYear', 'zip3', 'age'] as const;
export type GeneralizeTarget = (typeof GENERALIZE_TARGETS)[number];

/** How `hash` normalises a value before the keyed HMAC. */
export const HASH_NORMALIZATIONS = ['identifier', 'reference', 'exact'] as const;
export type HashNormalization = (typeof HASH_NORMALIZATIONS)[number];

/** A rule after parsing: the method and its (optional) parameters. */
export type Rule =
  | { readonly method: 'drop' }
  | { readonly method: 'keep' }
  | { readonly method: 'scrub'; readonly maxResidualRisk?: number }
  | { readonly method: 'withhold' }
  | { readonly method: 'hash'; readonly namespace?: string; readonly normalize?: HashNormalization }
  | { readonly method: 'dateShift'; readonly maxDays?: number }
  | { readonly method: 'generalize'; readonly to?: GeneralizeTarget };

export interface Policy {
  readonly name: string;
  readonly version: string;
  readonly doc: string | undefined;
  /**
   * Whether `keep` may publish a PHI-classified field in clear (a limited data set under a
   * data-use agreement). False for Safe Harbor: there, `keep` on a PHI field is a policy error.
   */
  readonly allowPhiInClear: boolean;
  /** Bound of the per-patient date shift, in days, unless a rule sets its own. */
  readonly dateShiftMaxDays: number;
  /** Replaces a contract's default method wherever it appears (key: the contract's `deid`). */
  readonly methodOverrides: Readonly<Partial<Record<Method, Rule>>>;
  /** Field rules per contract (key: resource type, e.g. `Patient`; then top-level field name). */
  readonly contracts: Readonly<Record<string, Readonly<Record<string, Rule>>>>;
  /** Where the policy came from (file path or label), for messages. */
  readonly source: string;
}

/** Names of the policies shipped in `schemas/policies/`. */
export const BUILT_IN_POLICIES = ['safe-harbor', 'limited-data-set'] as const;
/** The policy used when none is configured. */
export const DEFAULT_POLICY = 'safe-harbor';

const DEFAULT_DATE_SHIFT_MAX_DAYS = 365;
const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const NAMESPACE = /^[A-Za-z0-9:._-]{1,64}$/;

const ruleParams = {
  drop: z.strictObject({ method: z.literal('drop') }),
  keep: z.strictObject({ method: z.literal('keep') }),
  scrub: z.strictObject({
    method: z.literal('scrub'),
    maxResidualRisk: z.number().int().min(0).max(1000).optional(),
  }),
  withhold: z.strictObject({ method: z.literal('withhold') }),
  hash: z.strictObject({
    method: z.literal('hash'),
    namespace: z.string().regex(NAMESPACE, 'must match [A-Za-z0-9:._-]{1,64}').optional(),
    normalize: z.enum(HASH_NORMALIZATIONS).optional(),
  }),
  dateShift: z.strictObject({
    method: z.literal('dateShift'),
    maxDays: z.number().int().min(1).max(36_500).optional(),
  }),
  generalize: z.strictObject({ method: z.literal('generalize'), to: z.enum(GENERALIZE_TARGETS).optional() }),
} satisfies Record<Method, z.ZodType>;

const policyShape = z.strictObject({
  $comment: z.string().optional(),
  name: z.string().regex(NAME, 'must be lower-case letters, digits and dashes'),
  version: z.string().min(1).max(32),
  doc: z.string().optional(),
  allowPhiInClear: z.boolean().optional(),
  dateShiftMaxDays: z.number().int().min(1).max(36_500).optional(),
  methodOverrides: z.record(z.string(), z.unknown()).optional(),
  contracts: z.record(z.string(), z.record(z.string(), z.unknown())),
});

/** Whether a string names a method. */
export function isMethod(value: unknown): value is Method {
  return typeof value === 'string' && (METHODS as readonly string[]).includes(value);
}

/**
 * Parses one rule: `"drop"` or `{ "method": "hash", "namespace": "mrn" }`.
 *
 * @returns the rule, or a problem description (no values: the rule is configuration, but the
 *   message stays short and names what was expected).
 */
export function parseRule(raw: unknown): Rule | string {
  const obj: unknown = typeof raw === 'string' ? { method: raw } : raw;
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    return 'expected a method name or an object with "method"';
  }
  const method = (obj as { method?: unknown }).method;
  if (!isMethod(method)) {
    const shown = typeof method === 'string' ? `"${method}"` : 'missing';
    return `unknown method ${shown} (expected one of ${METHODS.join(', ')})`;
  }
  const parsed = ruleParams[method].safeParse(obj);
  if (!parsed.success) return `method ${method}: ${describeZod(parsed.error)}`;
  return parsed.data;
}

/**
 * Validates policy JSON. Every problem is listed at once.
 *
 * @param source file path or label, used in messages.
 * @throws PipelineError POLICY_INVALID naming the policy, the contract and field of each bad rule,
 *   and what was expected.
 */
export function parsePolicy(json: unknown, source: string): Policy {
  const parsed = policyShape.safeParse(json);
  if (!parsed.success) {
    throw policyError(source, [describeZod(parsed.error)]);
  }
  const p = parsed.data;
  const problems: string[] = [];
  const methodOverrides: Partial<Record<Method, Rule>> = {};
  for (const [from, raw] of Object.entries(p.methodOverrides ?? {})) {
    if (!isMethod(from)) {
      problems.push(`methodOverrides: unknown method "${from}" (expected one of ${METHODS.join(', ')})`);
      continue;
    }
    const rule = parseRule(raw);
    if (typeof rule === 'string') problems.push(`methodOverrides.${from}: ${rule}`);
    else methodOverrides[from] = rule;
  }
  const contracts: Record<string, Record<string, Rule>> = {};
  for (const [type, fields] of Object.entries(p.contracts)) {
    const rules: Record<string, Rule> = {};
    for (const [field, raw] of Object.entries(fields)) {
      const rule = parseRule(raw);
      if (typeof rule === 'string') problems.push(`contract ${type} field ${field}: ${rule}`);
      else rules[field] = rule;
    }
    contracts[type] = rules;
  }
  if (problems.length > 0) throw policyError(source, problems, p.name);
  return {
    name: p.name,
    version: p.version,
    doc: p.doc,
    allowPhiInClear: p.allowPhiInClear ?? false,
    dateShiftMaxDays: p.dateShiftMaxDays ?? DEFAULT_DATE_SHIFT_MAX_DAYS,
    methodOverrides,
    contracts,
    source,
  };
}

/**
 * Loads a policy by built-in name (`safe-harbor`, `limited-data-set`, from `schemas/policies/`)
 * or by path to a JSON file.
 *
 * @param options.schemasDir the `schemas/` directory; found upwards from this file when omitted.
 * @throws PipelineError POLICY_INVALID when the file is missing, not JSON, or not a valid policy.
 */
export function loadPolicy(ref: string, options: { schemasDir?: string } = {}): Policy {
  const builtIn = (BUILT_IN_POLICIES as readonly string[]).includes(ref);
  const path = builtIn
    ? join(options.schemasDir ?? findSchemasDir(), 'policies', `${ref}.json`)
    : resolve(ref);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new PipelineError('POLICY_INVALID', `policy ${ref}: cannot read ${path}`, {
      cause,
      context: { policy: ref },
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PipelineError('POLICY_INVALID', `policy ${ref}: ${path} is not valid JSON`, {
      context: { policy: ref },
    });
  }
  return parsePolicy(json, path);
}

/** The POLICY_INVALID error every policy problem becomes: all problems, one message. */
export function policyError(source: string, problems: readonly string[], name?: string): PipelineError {
  const label = name === undefined ? source : `${name} (${source})`;
  return new PipelineError(
    'POLICY_INVALID',
    `de-identification policy ${label} is invalid: ${problems.join('; ')}`,
    { context: { policy: name ?? source, problems: problems.length } },
  );
}

function describeZod(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const at = issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
      if (issue.code === 'unrecognized_keys') return `${at}unknown key(s) ${issue.keys.join(', ')}`;
      if (issue.code === 'invalid_value')
        return `${at}expected one of ${issue.values.map(String).join(', ')}`;
      if (issue.code === 'invalid_type') return `${at}expected ${issue.expected}`;
      return `${at}${issue.message}`;
    })
    .join('; ');
}
