import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CLIENT_KEY_ALGS, generateClientKey, type ClientKeyAlg } from '@ehrflow/http';

export const KEYS_HELP = `Usage: node services/extractor/src/cli.ts keys generate --alg <RS384|ES384> [options]

Generates the key pair the extractor signs its SMART Backend Services client assertions with:
  <name>.private.pem (or .private.jwk.json)  the private key, file mode 0600: keep it secret and
                                             point auth.privateKeyFile of the source at it
  <name>.jwks.json                           the public JWKS: register it with the EHR (upload it,
                                             or serve it at the JWKS URL the EHR asks for)
Prints the file names, the kid and the "auth" block for the sources file; never the private key.

Options:
  --alg <alg>        RS384 (RSA 3072 bits) or ES384 (EC P-384) (required; ask the EHR which it takes)
  --kid <kid>        key id (default: the RFC 7638 thumbprint of the public key)
  --out-dir <dir>    where to write the files (default: the current directory)
  --name <name>      file name stem (default: ehrflow-<alg>, e.g. ehrflow-es384)
  --format <f>       private key as pem (PKCS#8, default) or jwk
  --force            overwrite existing files (default: refuse)
  -h, --help         show this help
`;

/** What `keys generate` was asked to do, once its arguments are checked. */
export interface KeysRequest {
  readonly alg: ClientKeyAlg;
  readonly kid?: string;
  readonly outDir: string;
  readonly name: string;
  readonly format: 'pem' | 'jwk';
  readonly force: boolean;
}

/** Parses `keys generate` arguments: the request, `help`, or an error line for the usage text. */
export function parseKeysArgs(args: readonly string[]): KeysRequest | 'help' | { error: string } {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '--help' || sub === '-h') return 'help';
  if (sub !== 'generate') return { error: `keys: unknown subcommand ${sub}` };
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        alg: { type: 'string' },
        kid: { type: 'string' },
        'out-dir': { type: 'string', default: '.' },
        name: { type: 'string' },
        format: { type: 'string', default: 'pem' },
        force: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch {
    return { error: 'keys generate: unknown or malformed option' };
  }
  if (values.help) return 'help';
  const alg = CLIENT_KEY_ALGS.find((a) => a === values.alg);
  if (alg === undefined)
    return { error: `keys generate: --alg must be one of ${CLIENT_KEY_ALGS.join(', ')}` };
  if (values.format !== 'pem' && values.format !== 'jwk')
    return { error: 'keys generate: --format must be pem or jwk' };
  const name = values.name ?? `ehrflow-${alg.toLowerCase()}`;
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name))
    return { error: 'keys generate: --name may use letters, digits, . _ - only' };
  if (values.kid !== undefined && !/^[\x21-\x7e]{1,200}$/.test(values.kid))
    return { error: 'keys generate: --kid must be 1-200 printable characters without spaces' };
  return {
    alg,
    ...(values.kid === undefined ? {} : { kid: values.kid }),
    outDir: values['out-dir'],
    name,
    format: values.format,
    force: values.force,
  };
}

/** The files `keys generate` wrote, and what to paste into the sources file. */
export interface KeysResult {
  readonly kid: string;
  readonly privateKeyFile: string;
  readonly jwksFile: string;
  /** Text for stdout: file names, kid, the sources-file `auth` block. No key material. */
  readonly summary: string;
}

/**
 * Generates and writes the key pair. The private key is written with mode 0600 and, like the
 * JWKS, only when the file does not exist yet (unless `force`): overwriting a registered key
 * would lock the source out until the EHR has the new JWKS.
 */
export async function generateKeys(request: KeysRequest): Promise<KeysResult> {
  const key = await generateClientKey(request.alg, request.kid === undefined ? {} : { kid: request.kid });
  const privateName = `${request.name}.private.${request.format === 'pem' ? 'pem' : 'jwk.json'}`;
  const jwksName = `${request.name}.jwks.json`;
  const flag = request.force ? 'w' : 'wx';
  const privateText =
    request.format === 'pem' ? key.privateKeyPem : `${JSON.stringify(key.privateJwk, null, 2)}\n`;
  const privatePath = join(request.outDir, privateName);
  await writeFile(privatePath, privateText, { mode: 0o600, flag });
  // The mode of writeFile applies to new files only; an overwritten one keeps its old mode.
  await chmod(privatePath, 0o600);
  await writeFile(join(request.outDir, jwksName), `${JSON.stringify(key.publicJwks, null, 2)}\n`, {
    mode: 0o644,
    flag,
  });
  const auth = { method: 'jwt', privateKeyFile: privateName, alg: request.alg, kid: key.kid };
  const summary = [
    `private key: ${join(request.outDir, privateName)} (mode 0600; keep it secret)`,
    `public JWKS: ${join(request.outDir, jwksName)} (register it with the EHR)`,
    `kid: ${key.kid}`,
    'sources file "auth" (privateKeyFile is relative to the sources file):',
    `  "auth": ${JSON.stringify(auth)}`,
    '',
  ].join('\n');
  return { kid: key.kid, privateKeyFile: privateName, jwksFile: jwksName, summary };
}
