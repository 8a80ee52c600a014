import { isPhi, type Contract } from '@ehrflow/contracts';
import type { MappedRecord, MappedValue } from '@ehrflow/fhir';
import { sealFields, type Keyring, type SealedValue } from '@ehrflow/phi';

type ContractFields = Contract['fields'];

/** The names of a contract's PHI fields, worked out once per contract version (its `fields` list). */
const phiNamesOf = new WeakMap<ContractFields, readonly string[]>();

function phiFieldNames(fields: ContractFields): readonly string[] {
  let names = phiNamesOf.get(fields);
  if (names === undefined) {
    names = fields.filter((field) => isPhi(field)).map((field) => field.name);
    phiNamesOf.set(fields, names);
  }
  return names;
}

/**
 * Encrypts every PHI field of a mapped record in place of its value, with the active key of the
 * ring. PHI is default-deny: a field whose class is anything but `none` — including a field
 * nobody classified — is encrypted. The mapping guarantees such fields are strings or arrays of
 * strings. No AAD is bound, so the redactor decrypts with the ring alone.
 *
 * All PHI values of the record are sealed together (`enc:v3:`, `sealFields`): one data key, one
 * AES-GCM operation per record; the first value holds the sealed block, the others a reference
 * to it, and `openSealedFields` gives them back by field.
 */
export function encryptPhiFields(
  record: MappedRecord,
  contract: Pick<Contract, 'fields'>,
  ring: Keyring,
): MappedRecord {
  const out: Record<string, MappedValue> = { ...record };
  const phi: [string, SealedValue][] = [];
  for (const name of phiFieldNames(contract.fields)) {
    const value = out[name];
    if (typeof value === 'string') phi.push([name, value]);
    else if (Array.isArray(value)) phi.push([name, value.map((v) => String(v))]);
  }
  // A record without PHI values costs no key wrap.
  if (phi.length === 0) return out;
  for (const [name, sealed] of sealFields(ring, phi)) out[name] = sealed;
  return out;
}
