import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The pipeline's keys for a local run: the PHI keyring and the pseudonym key. */
export interface RunSecrets {
  readonly PHI_KEYRING: string;
  readonly PSEUDONYM_KEY: string;
}

/**
 * Reads the local run's keys from `file` (`NAME=value` lines), creating them with fresh random
 * bytes (file mode 600) on the first run, so later runs can still decrypt what earlier runs left
 * in the topics. Local development only: production keys come from a secret store.
 */
export async function loadOrCreateSecrets(file: string): Promise<RunSecrets> {
  try {
    const values = Object.fromEntries(
      (await readFile(file, 'utf8'))
        .split('\n')
        .map((line) => /^([A-Z_]+)=(.+)$/.exec(line.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2]]),
    ) as Partial<RunSecrets>;
    if (values.PHI_KEYRING && values.PSEUDONYM_KEY)
      return { PHI_KEYRING: values.PHI_KEYRING, PSEUDONYM_KEY: values.PSEUDONYM_KEY };
  } catch {
    // First run: created below.
  }
  const secrets = {
    PHI_KEYRING: `local1:${randomBytes(32).toString('base64')}`,
    PSEUDONYM_KEY: randomBytes(32).toString('base64'),
  };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `PHI_KEYRING=${secrets.PHI_KEYRING}\nPSEUDONYM_KEY=${secrets.PSEUDONYM_KEY}\n`, {
    mode: 0o600,
  });
  return secrets;
}
