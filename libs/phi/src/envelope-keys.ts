import { parseKeyring, type Keyring } from './keyring.ts';
import { parsePseudonymKey } from './pseudonym.ts';

/**
 * The keys of a stage that writes raw envelopes: the keyring that encrypts payloads and the
 * pseudonym key of partition keys.
 */
export interface EnvelopeKeys {
  readonly keyring: Keyring;
  readonly pseudonymKey: Buffer;
}

/**
 * Both keys from their variables (`PHI_KEYRING`, `PSEUDONYM_KEY`), read at start so a bad key
 * refuses the start before anything is opened.
 * @throws PipelineError KEY_MISSING naming which key is unusable, never its value.
 */
export function parseEnvelopeKeys(config: {
  readonly PHI_KEYRING: string | undefined;
  readonly PSEUDONYM_KEY: string | undefined;
}): EnvelopeKeys {
  return { keyring: parseKeyring(config.PHI_KEYRING), pseudonymKey: parsePseudonymKey(config.PSEUDONYM_KEY) };
}
