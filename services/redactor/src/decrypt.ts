import { isPhi, type Contract } from '@ehrflow/contracts';
import { PipelineError } from '@ehrflow/errors';
import {
  decryptField,
  isEncryptedField,
  openSealedFields,
  type Keyring,
  type SealedValue,
} from '@ehrflow/phi';

/** Decrypts the PHI fields of one `ehr.valid.<Type>` record. */
export type Decryptor = (record: Readonly<Record<string, unknown>>) => Record<string, unknown>;

/**
 * A decryptor for a contract: every top-level field the contract treats as PHI (any class but
 * `none`, unclassified included) holds ciphertext in `ehr.valid.*` (the validator binds no AAD) —
 * the record's sealed `enc:v3:` values, opened in one operation, or older self-contained
 * `enc:v1:`/`enc:v2:` values, one by one — and is decrypted with the ring, whichever of its keys
 * wrote it, which is what makes key rotation work mid-stream. A PHI field in clear is refused
 * rather than passed on: it means the valid topic already leaked, and the record goes to
 * quarantine.
 *
 * @throws PipelineError DECRYPT_FAILED naming the field (never the value).
 */
export function createDecryptor(contract: Pick<Contract, 'fields'>, ring: Keyring): Decryptor {
  const phiFields = contract.fields.filter((f) => isPhi(f) && !/[.[{]/.test(f.path)).map((f) => f.name);
  return (record) => {
    const out: Record<string, unknown> = { ...record };
    const sealed = openSealed(ring, record, phiFields);
    for (const name of phiFields) {
      const value = record[name];
      if (value === null || value === undefined) continue;
      const opened = sealed?.get(name);
      if (opened !== undefined) {
        out[name] = opened;
        continue;
      }
      out[name] = Array.isArray(value)
        ? value.map((v: unknown) => decryptOne(ring, name, v))
        : decryptOne(ring, name, value);
    }
    return out;
  };
}

function openSealed(
  ring: Keyring,
  record: Readonly<Record<string, unknown>>,
  phiFields: readonly string[],
): Map<string, SealedValue> | undefined {
  try {
    return openSealedFields(ring, record);
  } catch (err) {
    // A PHI value in clear is the more telling reason (the valid topic leaked): name that field.
    for (const name of phiFields) {
      const value = record[name];
      const values: unknown[] = Array.isArray(value) ? value : [value];
      if (value !== null && value !== undefined && !values.every((v) => isEncryptedField(v)))
        decryptOne(ring, name, value);
    }
    const code = err instanceof PipelineError ? err.code : 'DECRYPT_FAILED';
    const fieldPath = err instanceof PipelineError ? err.context.fieldPath : undefined;
    throw new PipelineError('DECRYPT_FAILED', `sealed PHI fields cannot be decrypted (${code})`, {
      cause: err,
      context: typeof fieldPath === 'string' ? { fieldPath } : {},
    });
  }
}

function decryptOne(ring: Keyring, field: string, value: unknown): string {
  if (!isEncryptedField(value)) {
    throw new PipelineError(
      'DECRYPT_FAILED',
      `field ${field}: PHI field is not encrypted in the valid record`,
      {
        context: { fieldPath: field },
      },
    );
  }
  try {
    return decryptField(ring, value);
  } catch (err) {
    const code = err instanceof PipelineError ? err.code : 'DECRYPT_FAILED';
    throw new PipelineError('DECRYPT_FAILED', `field ${field}: cannot decrypt (${code})`, {
      cause: err,
      context: { fieldPath: field },
    });
  }
}
