/** Test support: a processor context and record scope without a real record. */
import type { FieldContract } from '@ehrflow/contracts';
import { compileKnownIdentifiers, type IdentifierKind } from '../known-identifiers.ts';
import { parsePolicy, type Rule } from '../policy.ts';
import type { MethodContext, RecordScope } from './types.ts';

export const TEST_KEY = Buffer.alloc(32, 7);

export function testField(overrides: Partial<FieldContract> & { name: string }): FieldContract {
  return {
    path: overrides.name,
    avroType: 'string',
    nullable: true,
    hasDefault: true,
    phi: 'direct',
    phiClass: 'direct',
    deid: undefined,
    required: false,
    fillRate: undefined,
    fhirPath: undefined,
    doc: undefined,
    attrs: {},
    ...overrides,
  };
}

export function testContext<R extends Rule>(
  rule: R,
  field: FieldContract,
  contractType = 'Patient',
): MethodContext<R> {
  const policy = parsePolicy({ name: 'test', version: '1', contracts: {} }, 'test');
  return { contractType, field, rule, policy };
}

/**
 * A record scope. `known`: the patient's identifiers; `'unknown'` for a record whose patient is
 * not known (free text withheld). `withheld` collects the fields reported withheld.
 */
export function testScope(
  options: {
    key?: Buffer;
    now?: Date;
    shift?: number;
    known?: [IdentifierKind, string][] | 'unknown';
    withheld?: string[];
    reasons?: string[];
  } = {},
): RecordScope {
  const known = options.known;
  return {
    pseudonymKey: options.key ?? TEST_KEY,
    now: options.now ?? new Date('2025-06-01T00:00:00Z'),
    shiftDays: () => options.shift ?? 10,
    freeTextIdentifiers: () => (known === 'unknown' ? undefined : compileKnownIdentifiers(known ?? [])),
    withheld: (field, reason) => {
      options.withheld?.push(field);
      options.reasons?.push(reason);
    },
  };
}
