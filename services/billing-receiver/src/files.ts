import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encryptPayload, type Keyring } from '@ehrflow/phi';

/** Writes a file under a temporary name and renames it, so a reader never sees half of it. */
export async function writeAtomically(dir: string, name: string, data: string | Buffer): Promise<string> {
  await mkdir(dir, { recursive: true });
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.tmp`);
  await writeFile(tmp, data, { flush: true });
  await rename(tmp, target);
  return target;
}

/** Moves a file into a subfolder, keeping its name (and not overwriting an earlier file of that name). */
export async function moveInto(path: string, dir: string, name: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  let target = join(dir, name);
  if (await exists(target)) target = join(dir, `${Date.now()}-${name}`);
  await rename(path, target);
  return target;
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Chunk size of an encrypted copy: each chunk is one AES-GCM envelope, so memory stays bounded. */
export const ENCRYPTED_CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Writes an encrypted copy of a file: a sequence of `[u32 big-endian length][payload envelope]`,
 * one per 4 MiB of the file (`decryptCopy` reads it back). Synced before it is renamed into place.
 */
export async function writeEncryptedCopy(
  source: string,
  dir: string,
  name: string,
  keyring: Keyring,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${name}.tmp`);
  const out = await open(tmp, 'w');
  try {
    for await (const chunk of createReadStream(source, { highWaterMark: ENCRYPTED_CHUNK_BYTES })) {
      const sealed = encryptPayload(keyring, chunk as Buffer);
      const length = Buffer.alloc(4);
      length.writeUInt32BE(sealed.length);
      await out.write(length);
      await out.write(sealed);
    }
    await out.sync();
  } finally {
    await out.close();
  }
  const target = join(dir, name);
  await rename(tmp, target);
  return target;
}

/** Reads an encrypted copy back (operators replaying a fixed file; tests). */
export function decryptCopy(copy: Buffer, decrypt: (sealed: Buffer) => Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < copy.length;) {
    const length = copy.readUInt32BE(at);
    parts.push(decrypt(copy.subarray(at + 4, at + 4 + length)));
    at += 4 + length;
  }
  return Buffer.concat(parts);
}
