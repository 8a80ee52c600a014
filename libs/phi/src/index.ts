export { KEY_BYTES, createKeyring, isValidKid, parseKeyring, type Keyring } from './keyring.ts';
export { ENVELOPE_VERSION, decryptPayload, encryptPayload, keyIdOf } from './envelope.ts';
export {
  ENCRYPTED_FIELD_PREFIX,
  decryptField,
  decryptRecord,
  encryptField,
  fieldKeyId,
  isEncryptedField,
} from './field.ts';
export {
  ENCRYPTED_FIELD_PREFIX_V2,
  FIELD_V2_VERSION,
  createRecordCipher,
  fieldKeyCacheStats,
  type RecordCipher,
} from './record-cipher.ts';
export {
  ENCRYPTED_FIELD_PREFIX_V3,
  FIELD_V3_VERSION,
  SEALED_REF,
  isSealedValue,
  openSealedBlock,
  openSealedFields,
  sealFields,
  type SealedValue,
} from './sealed-fields.ts';
export { DEK_CACHE_CAPACITY, type DekCacheStats } from './dek-cache.ts';
export {
  MIN_PSEUDONYM_KEY_BYTES,
  PSEUDONYM_LENGTH,
  dateShiftDays,
  parsePseudonymKey,
  partitionKey,
  pseudonym,
} from './pseudonym.ts';
export { parseEnvelopeKeys, type EnvelopeKeys } from './envelope-keys.ts';
