import { isPhi, type Contract } from '@ehrflow/contracts';
import type { MappedRecord, MappedValue } from '@ehrflow/fhir';
import { createRecordCipher, type Keyring, type RecordCipher } from '@ehrflow/phi';

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
 * Encrypts every PHI field of a mapped record in place of its value (`enc:v2:` strings), with the
 * active key of the ring. PHI is default-deny: a field whose class is anything but `none` —
 * including a field nobody classified — is encrypted. The mapping guarantees such fields are
 * strings or arrays of strings. No AAD is bound, so the redactor decrypts with the ring alone.
 *
 * One record cipher serves all fields of the record: one data key, wrapped once, a fresh IV per
 * value; each value still decrypts on its own with `decryptField`.
 */
export function encryptPhiFields(record: MappedRecord, contract: Pick<Contract, 'fields'>, ring: Keyring): MappedRecord {
  const out: Record<string, MappedValue> = { ...record };
  // Created on first use: a record without PHI values costs no key wrap.
  let cipher: RecordCipher | undefined;
  const encrypt = (value: string): string => (cipher ??= createRecordCipher(ring)).encrypt(value);
  for (const name of phiFieldNames(contract.fields)) {
    const value = out[name];
    if (typeof value === 'string') out[name] = encrypt(value);
    else if (Array.isArray(value)) out[name] = value.map((v) => encrypt(String(v)));
  }
  return out;
}
