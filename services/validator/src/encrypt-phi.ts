import { isPhi, type Contract } from '@ehrflow/contracts';
import type { MappedRecord, MappedValue } from '@ehrflow/fhir';
import { encryptField, type Keyring } from '@ehrflow/phi';

/**
 * Encrypts every PHI field of a mapped record in place of its value (`enc:v1:` strings), with the
 * active key of the ring. PHI is default-deny: a field whose class is anything but `none` —
 * including a field nobody classified — is encrypted. The mapping guarantees such fields are
 * strings or arrays of strings. No AAD is bound, so the redactor decrypts with the ring alone.
 */
export function encryptPhiFields(record: MappedRecord, contract: Pick<Contract, 'fields'>, ring: Keyring): MappedRecord {
  const out: Record<string, MappedValue> = { ...record };
  for (const field of contract.fields) {
    if (!isPhi(field)) continue;
    const value = out[field.name];
    if (typeof value === 'string') out[field.name] = encryptField(ring, value);
    else if (Array.isArray(value)) out[field.name] = value.map((v) => encryptField(ring, String(v)));
  }
  return out;
}
