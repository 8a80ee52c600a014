/**
 * Throwaway X.509 material for tests: a CA and certificates it signs, made with the `openssl` CLI
 * (the local stack's `tls.sh` needs it already, so tests add no dependency for it). Nothing here is
 * for production; keys are unencrypted and live in a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  readonly name: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
}

export interface TestCertificate {
  readonly certFile: string;
  readonly keyFile: string;
  readonly certPem: string;
  readonly keyPem: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

/** `openssl req` options of every key here: a new unencrypted P-256 key, SHA-256 signatures. */
const NEW_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256'];

/** A new self-signed CA (EC P-256, valid one day) in a fresh temporary directory. */
export function createTestCa(name: string): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'ehrflow-pki-'));
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.crt');
  openssl(
    [
      'req',
      '-x509',
      '-new',
      ...NEW_KEY,
      '-days',
      '1',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    dir,
  );
  return { name, certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

/**
 * A leaf certificate signed by `ca`: `client` for mTLS (extendedKeyUsage clientAuth), `server`
 * for 127.0.0.1 and localhost.
 */
export function issueTestCertificate(
  ca: TestCa,
  kind: 'client' | 'server',
  commonName: string,
): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'ehrflow-pki-'));
  const keyFile = join(dir, `${kind}.key`);
  const certFile = join(dir, `${kind}.crt`);
  const extFile = join(dir, `${kind}.ext`);
  writeFileSync(
    extFile,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      kind === 'client' ? 'extendedKeyUsage=clientAuth' : 'extendedKeyUsage=serverAuth',
      ...(kind === 'server' ? ['subjectAltName=IP:127.0.0.1,DNS:localhost'] : []),
      '',
    ].join('\n'),
  );
  openssl(
    [
      'req',
      '-new',
      ...NEW_KEY,
      '-subj',
      `/CN=${commonName}`,
      '-keyout',
      keyFile,
      '-out',
      join(dir, 'req.csr'),
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-sha256',
      '-days',
      '1',
      '-in',
      join(dir, 'req.csr'),
      '-CA',
      ca.certFile,
      '-CAkey',
      ca.keyFile,
      '-CAcreateserial',
      '-extfile',
      extFile,
      '-out',
      certFile,
    ],
    dir,
  );
  return {
    certFile,
    keyFile,
    certPem: readFileSync(certFile, 'utf8'),
    keyPem: readFileSync(keyFile, 'utf8'),
  };
}
