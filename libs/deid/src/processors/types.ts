import type { FieldContract } from '@ehrflow/contracts';
import type { WithheldReason } from '../free-text.ts';
import type { KnownIdentifiers } from '../known-identifiers.ts';
import type { Method, Policy, Rule } from '../policy.ts';

/** Everything a method module sees when a policy compiles one field. */
export interface MethodContext<R extends Rule = Rule> {
  /** Resource type of the contract, e.g. `Patient`. */
  readonly contractType: string;
  readonly field: FieldContract;
  readonly rule: R;
  readonly policy: Policy;
}

/** Per-record state a processor may need; computed lazily, once per record. */
export interface RecordScope {
  readonly pseudonymKey: Buffer;
  /** Reference time for ages (processing time unless a test fixes it). */
  readonly now: Date;
  /** The patient's date shift in days for a bound, stable for the record's patient. */
  shiftDays(maxDays: number): number;
  /**
   * The identifiers to scrub from the record's free text: its own and its patient's. Undefined
   * when the patient's identifiers are not available (patient unknown to the directory, or the
   * record names no patient): free text must then be withheld, not pattern-scrubbed.
   */
  freeTextIdentifiers(): KnownIdentifiers | undefined;
  /** Reports one withheld free-text value of a field and why (counts only). */
  withheld(field: string, reason: WithheldReason): void;
}

/**
 * Turns one value into its de-identified string. Throws PipelineError CONTRACT_VIOLATION (naming
 * the field, never the value) when the value cannot be processed.
 */
export type ValueProcessor = (value: string | number, scope: RecordScope) => string;

/** What a method does to the field in the clean schema. */
export type MethodOutput = 'removed' | 'unchanged' | 'string';

/** One de-identification method: its checks at compile time and its processor. */
export interface MethodModule<R extends Rule = Rule> {
  readonly method: Method;
  readonly output: MethodOutput;
  /** Problems of applying this rule to this field (wrong type, missing parameter); [] when fine. */
  check(ctx: MethodContext<R>): string[];
  /** The rule with the parameters it leaves to inference filled in (after a clean check). */
  complete?(ctx: MethodContext<R>): R;
  /** The value processor; undefined for methods that do not touch values (drop, keep). */
  create(ctx: MethodContext<R>): ValueProcessor | undefined;
}

/** Whether a field holds strings (or an array of strings), the input every text method needs. */
export function holdsStrings(field: FieldContract): boolean {
  return field.avroType === 'string' || field.avroType === 'array<string>';
}

/** The standard problem text for a type mismatch between a method and a field. */
export function typeProblem(method: Method, field: FieldContract, expected: string): string {
  return `method ${method} needs ${expected}, field is ${field.avroType}`;
}

/** The `check` of a method that takes string fields only; `expected` names them in the problem. */
export function stringFieldsOnly(
  method: Method,
  expected = 'a string or array of strings',
): (ctx: { readonly field: FieldContract }) => string[] {
  return ({ field }) => (holdsStrings(field) ? [] : [typeProblem(method, field, expected)]);
}
