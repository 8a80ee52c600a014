import type { Contract, FieldContract } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import { identifierKindOf, type IdentifierKind } from './known-identifiers.ts';
import { isMethod, policyError, type Method, type Policy, type Rule } from './policy.ts';
import { METHOD_MODULES } from './processors/index.ts';
import type { MethodOutput, ValueProcessor } from './processors/types.ts';

/** Where a field's rule came from, for explanations (`redactor explain`) and tests. */
export type RuleOrigin = 'policy-field' | 'policy-method' | 'contract' | 'default-keep' | 'default-deny';

/** One top-level field of a contract with the rule the policy resolved for it. */
export interface CompiledField {
  readonly name: string;
  readonly field: FieldContract;
  readonly method: Method;
  readonly rule: Rule;
  readonly origin: RuleOrigin;
  readonly output: MethodOutput;
  /** Undefined for drop and keep. */
  readonly process: ValueProcessor | undefined;
}

/** A contract under a policy: every top-level field planned, ready for records. */
export interface CompiledContract {
  /** Resource type, e.g. `Patient`. */
  readonly type: string;
  readonly contract: Contract;
  /** Top-level fields in schema order, dropped ones included. */
  readonly fields: readonly CompiledField[];
  /** Field holding the patient reference (the date-shift subject), when the contract has one. */
  readonly patientField: string | undefined;
  /** Field holding the record's own logical id. */
  readonly logicalIdField: string | undefined;
  /** PHI fields whose values are the patient's known identifiers for free-text scrubbing. */
  readonly identifierFields: readonly { readonly name: string; readonly kind: IdentifierKind }[];
}

/** A policy compiled against a set of contracts. */
export interface CompiledPolicy {
  readonly name: string;
  readonly version: string;
  readonly policy: Policy;
  readonly contracts: ReadonlyMap<string, CompiledContract>;
  /**
   * The compiled contract of a resource type.
   * @throws PipelineError UNKNOWN_RESOURCE_TYPE when the policy was not compiled for it.
   */
  contract(type: string): CompiledContract;
}

/**
 * Resolves and checks every rule of a policy against the contracts it will meet, so a bad rule
 * fails at start, not at the first record. A field's rule is, in order: the policy's rule for
 * that field; the policy's override of the contract's method; the contract's `deid` attribute;
 * `keep` for a field classified `phi: none`; `drop` for an unclassified field (default-deny).
 *
 * @param contracts by resource type (`Patient` → its contract).
 * @throws PipelineError POLICY_INVALID listing every problem: a rule for an unknown contract or
 *   field, an unknown method, a PHI field with no rule and no `deid` default, a method that does
 *   not fit the field's type, `keep` on PHI outside a limited data set.
 */
export function compilePolicy(policy: Policy, contracts: Readonly<Record<string, Contract>>): CompiledPolicy {
  const problems: string[] = [];
  for (const type of Object.keys(policy.contracts)) {
    if (contracts[type] === undefined) {
      problems.push(
        `contract ${type}: no such contract (expected one of ${Object.keys(contracts).sort().join(', ') || 'none'})`,
      );
    }
  }
  const compiled = new Map<string, CompiledContract>();
  for (const [type, contract] of Object.entries(contracts)) {
    const result = compileContract(policy, type, contract);
    problems.push(...result.problems);
    if (result.problems.length === 0) compiled.set(type, result.compiled);
  }
  if (problems.length > 0) throw policyError(policy.source, problems, policy.name);
  return {
    name: policy.name,
    version: policy.version,
    policy,
    contracts: compiled,
    contract(type) {
      const found = compiled.get(type);
      if (found === undefined) {
        throw new PipelineError(
          'UNKNOWN_RESOURCE_TYPE',
          `policy ${policy.name} was not compiled for contract ${type}`,
          {
            context: { policy: policy.name, resourceType: type },
          },
        );
      }
      return found;
    },
  };
}

function compileContract(
  policy: Policy,
  type: string,
  contract: Contract,
): { compiled: CompiledContract; problems: string[] } {
  const problems: string[] = [];
  const topLevel = contract.fields.filter((f) => isTopLevel(f.path));
  const rules = policy.contracts[type] ?? {};
  for (const name of Object.keys(rules)) {
    if (!topLevel.some((f) => f.name === name)) {
      problems.push(`contract ${type} field ${name}: no such top-level field in the contract`);
    }
  }
  const fields: CompiledField[] = [];
  for (const field of topLevel) {
    const where = `contract ${type} field ${field.name}`;
    const resolved = resolveRule(policy, rules[field.name], field);
    if (typeof resolved === 'string') {
      problems.push(`${where}: ${resolved}`);
      continue;
    }
    const module = METHOD_MODULES[resolved.rule.method];
    const checked = { contractType: type, field, rule: resolved.rule, policy };
    const fieldProblems = [...structureProblems(field, resolved.rule.method), ...module.check(checked)];
    if (fieldProblems.length > 0) {
      problems.push(...fieldProblems.map((p) => `${where}: ${p}`));
      continue;
    }
    const rule = module.complete?.(checked) ?? resolved.rule;
    const ctx = { ...checked, rule };
    const origin = resolved.origin;
    fields.push({
      name: field.name,
      field,
      method: rule.method,
      rule,
      origin,
      output: module.output,
      process: module.create(ctx),
    });
  }
  const patientField = topLevel.find((f) => f.attrs.referenceTo === 'Patient')?.name;
  const logicalIdField = topLevel.find((f) => f.name === 'logicalId')?.name;
  const identifierFields = topLevel
    .filter(
      (f) =>
        f.phiClass !== 'none' &&
        f.phiClass !== 'free_text' &&
        (f.avroType === 'string' || f.avroType === 'array<string>'),
    )
    .map((f) => ({ name: f.name, kind: identifierKindOf(f) }));
  return {
    problems,
    compiled: { type, contract, fields, patientField, logicalIdField, identifierFields },
  };
}

type Resolved = { rule: Rule; origin: RuleOrigin } | string;

function resolveRule(policy: Policy, fieldRule: Rule | undefined, field: FieldContract): Resolved {
  if (fieldRule !== undefined) return { rule: fieldRule, origin: 'policy-field' };
  const deid = field.deid;
  if (deid !== undefined) {
    if (!isMethod(deid)) {
      return `the contract's deid attribute "${deid}" is not a known method; expected a policy rule for the field or one of drop, hash, dateShift, generalize, scrub, keep`;
    }
    const override = policy.methodOverrides[deid];
    if (override !== undefined) return { rule: override, origin: 'policy-method' };
    return { rule: { method: deid } as Rule, origin: 'contract' };
  }
  switch (field.phiClass) {
    case 'none':
      return { rule: { method: 'keep' }, origin: 'default-keep' };
    case 'unclassified':
      return { rule: { method: 'drop' }, origin: 'default-deny' };
    case 'direct':
    case 'quasi':
    case 'free_text':
      return `PHI field (class "${field.phiClass}") has no rule in the policy and no deid attribute in the contract; expected one of drop, hash, dateShift, generalize, scrub`;
  }
}

/** A field holding records or maps can only be dropped, or kept when nothing in it is PHI. */
function structureProblems(field: FieldContract, method: Method): string[] {
  const nested = /^(record |map<|array<(record|map))/.test(field.avroType);
  if (!nested || method === 'drop' || method === 'keep') return [];
  return [`method ${method} cannot apply to a nested ${field.avroType} field; expected drop or keep`];
}

function isTopLevel(path: string): boolean {
  return !/[.[{]/.test(path);
}
