import { randomBytes } from 'node:crypto';
import {
  ENCRYPTED_FIELD_PREFIX,
  KEY_BYTES,
  createKeyring,
  decryptField,
  decryptPayload,
  fieldKeyId,
  isEncryptedField,
  isSealedValue,
  keyIdOf,
  openSealedBlock,
  type Keyring,
} from '@ehrflow/phi';
import { type CanaryMatch, type CanaryMatcher, mergeMatches } from '@ehrflow/testing';
import type { LeakKind } from './leak-report.ts';

/** A canary found at a field path of a structured value. */
export interface ValueHit {
  /** Field path inside the value (`name[0].family`, `payload`); `$` is the value itself. */
  readonly path: string;
  readonly canary: number;
  readonly count: number;
  readonly kind: LeakKind;
}

export interface ValueScanResult {
  readonly hits: ValueHit[];
  /** Encrypted fields and payloads that were tried with a wrong key. */
  readonly encryptedChecked: number;
  /** Canary matches inside encrypted values opened with the pipeline key (positive control). */
  readonly protectedMatches: number;
}

export interface ValueScanner {
  /**
   * Scans a decoded value: clear strings, numbers and dates for canaries; encrypted fields
   * (`enc:v1:`, `enc:v2:` and sealed `enc:v3:` blocks, both as text and as decoded bytes) and envelope bytes for canaries
   * in their ciphertext, and checks that a key with the same kid but other bytes cannot open them.
   *
   * @param aadCandidates additional authenticated data the pipeline may have bound values to
   *   (e.g. the record id); only used for the positive control with the pipeline key.
   */
  scan(value: unknown, aadCandidates?: readonly string[]): ValueScanResult;
}

const ENVELOPE_VERSION_BYTE = 1;

/**
 * Creates a scanner. `pipelineKeyring` is optional: with it, encrypted values are also opened
 * with the real key and canaries inside counted (`protectedMatches`), which shows the canaries
 * did travel through the pipeline, encrypted.
 */
export function createValueScanner(matcher: CanaryMatcher, pipelineKeyring?: Keyring): ValueScanner {
  // A wrong key under the envelope's own kid: the lookup succeeds and authentication must fail.
  const wrongRings = new Map<string, Keyring>();
  const wrongRingFor = (kid: string): Keyring => {
    let ring = wrongRings.get(kid);
    if (ring === undefined) {
      ring = createKeyring([[kid, randomBytes(KEY_BYTES)]]);
      wrongRings.set(kid, ring);
    }
    return ring;
  };

  return {
    scan(value, aadCandidates = []) {
      const hits: ValueHit[] = [];
      let encryptedChecked = 0;
      let protectedMatches = 0;
      const add = (path: string, matches: readonly CanaryMatch[], kind: LeakKind): void => {
        for (const m of matches) hits.push({ path, canary: m.index, count: m.count, kind });
      };

      const scanEnvelope = (path: string, envelope: Buffer): void => {
        encryptedChecked += 1;
        add(path, matcher.findInBytes(envelope), 'ciphertext');
        const kid = keyIdOf(envelope);
        const opened = tryOpen(wrongRingFor(kid), envelope, [undefined, ...aadCandidates]);
        if (opened !== undefined) {
          // Opening with random key bytes must be impossible; a canary inside is a leak.
          add(path, matcher.findInBytes(opened), 'decrypts-without-key');
        }
        if (pipelineKeyring !== undefined) {
          const plain = tryOpen(pipelineKeyring, envelope, [undefined, ...aadCandidates]);
          if (plain !== undefined) {
            protectedMatches += matcher.findInBytes(plain).reduce((sum, m) => sum + m.count, 0);
          }
        }
      };

      /**
       * An encrypted field, v1 (a whole envelope) or v2 (a record data key wrapped in the field):
       * its text and bytes must hold no canary, a wrong key under its kid must not open it, and
       * the pipeline key (when given) opens it for the positive control.
       */
      const scanField = (path: string, field: string): void => {
        encryptedChecked += 1;
        const body = Buffer.from(field.slice(ENCRYPTED_FIELD_PREFIX.length), 'base64url');
        add(path, mergeMatches([matcher.find(field), matcher.findInBytes(body)]), 'ciphertext');
        let kid: string;
        try {
          kid = fieldKeyId(field);
        } catch {
          // Shaped like a field but not one: nothing to open; its text was scanned above.
          return;
        }
        const opened = tryOpenField(wrongRingFor(kid), field, aadCandidates);
        if (opened !== undefined) add(path, matcher.find(opened), 'decrypts-without-key');
        if (pipelineKeyring !== undefined) {
          const plain = tryOpenField(pipelineKeyring, field, aadCandidates);
          if (plain !== undefined)
            protectedMatches += matcher.find(plain).reduce((sum, m) => sum + m.count, 0);
        }
      };

      const walk = (node: unknown, path: string): void => {
        if (node === null || node === undefined || typeof node === 'boolean') return;
        if (typeof node === 'string') {
          if (isEncryptedField(node)) scanField(path, node);
          else add(path, matcher.find(node), 'clear');
          return;
        }
        if (typeof node === 'number' || typeof node === 'bigint') {
          add(path, matcher.find(String(node)), 'clear');
          return;
        }
        if (node instanceof Date) {
          if (!Number.isNaN(node.getTime())) add(path, matcher.find(node.toISOString()), 'clear');
          return;
        }
        if (node instanceof Uint8Array) {
          const buf = Buffer.from(node.buffer, node.byteOffset, node.byteLength);
          if (looksLikeEnvelope(buf)) scanEnvelope(path, buf);
          else add(path, matcher.findInBytes(buf), 'clear');
          return;
        }
        if (Array.isArray(node)) {
          node.forEach((item, i) => walk(item, `${path}[${i}]`));
          return;
        }
        if (typeof node === 'object') {
          for (const [key, child] of Object.entries(node)) {
            // Field names come from schemas and tables, but check them too: a drifted source
            // could turn a value into a key.
            const inKey = matcher.find(key);
            // A key that holds a canary must not appear in a location either.
            const name = inKey.length > 0 ? '<field name>' : key;
            const childPath = path === '$' ? name : `${path}.${name}`;
            add(childPath, inKey, 'clear');
            walk(child, childPath);
          }
        }
      };

      walk(value, '$');
      return { hits: mergeByPath(hits), encryptedChecked, protectedMatches };
    },
  };
}

/** Whether bytes parse as a version-1 envelope of `@ehrflow/phi` (kid readable). */
export function looksLikeEnvelope(buf: Buffer): boolean {
  if (buf.length < 2 || buf[0] !== ENVELOPE_VERSION_BYTE) return false;
  try {
    keyIdOf(buf);
    return true;
  } catch {
    return false;
  }
}

function tryOpen(ring: Keyring, envelope: Buffer, aads: readonly (string | undefined)[]): Buffer | undefined {
  for (const aad of aads) {
    try {
      return decryptPayload(ring, envelope, aad === undefined ? undefined : Buffer.from(aad, 'utf8'));
    } catch {
      // Wrong key or wrong AAD: expected for the wrong ring, try the next AAD for the real one.
    }
  }
  return undefined;
}

/**
 * Opens an encrypted field (v1 or v2) without and with each AAD, or a sealed v3 block (all the
 * record's sealed values, joined by newlines); undefined when none works.
 */
function tryOpenField(ring: Keyring, field: string, aads: readonly string[]): string | undefined {
  if (isSealedValue(field)) {
    try {
      return openSealedBlock(ring, field).join('\n');
    } catch {
      // Wrong key: expected for the wrong ring.
      return undefined;
    }
  }
  for (const aad of [undefined, ...aads]) {
    try {
      return decryptField(ring, field, aad);
    } catch {
      // Wrong key or wrong AAD: expected for the wrong ring, try the next AAD for the real one.
    }
  }
  return undefined;
}

function mergeByPath(hits: readonly ValueHit[]): ValueHit[] {
  const byKey = new Map<string, ValueHit>();
  for (const hit of hits) {
    const key = `${hit.path}\0${hit.canary}\0${hit.kind}`;
    const prev = byKey.get(key);
    byKey.set(key, prev === undefined ? hit : { ...prev, count: prev.count + hit.count });
  }
  return [...byKey.values()];
}
