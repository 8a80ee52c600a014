import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { booleanFlag, mode } from './common.ts';
import { ConfigError, resolveFileVariables, type ConfigProblem, type Env } from './env.ts';

/**
 * TLS options for the Kafka, Redis and PostgreSQL clients, built from the environment.
 *
 * The server is always verified: the chain against the pinned CA (or Node's trust store when no CA
 * is configured) and the host name against the certificate (Node's default `checkServerIdentity`,
 * never replaced here). A plaintext connection outside `EHRFLOW_MODE=development` is allowed but
 * comes back with a `warning` that the caller logs. Inconsistent settings (a CA without TLS, SASL
 * without credentials, an `sslmode` that does not verify) are a `ConfigError` listing every problem
 * by variable name, never by value.
 */

export type TlsClient = 'kafka' | 'redis' | 'postgres' | 'schema-registry';

/** A PHI- and secret-free reason to log at warn level when the client is created. */
export interface TlsWarning {
  readonly client: TlsClient;
  readonly reason: 'plaintext-outside-development' | 'sasl-over-plaintext' | 'credentials-over-plaintext';
  readonly message: string;
}

/** The `node:tls` connection options the three clients take (kafkajs `ssl`, ioredis `tls`, pg `ssl`). */
export interface TlsVerifyOptions {
  /** PEM of the pinned CA; absent means Node's default trust store. */
  readonly ca?: string;
  readonly rejectUnauthorized: true;
}

/** kafkajs `sasl` (one member per mechanism, as kafkajs types them). */
export type KafkaSaslOptions =
  | { readonly mechanism: 'plain'; readonly username: string; readonly password: string }
  | { readonly mechanism: 'scram-sha-256'; readonly username: string; readonly password: string }
  | { readonly mechanism: 'scram-sha-512'; readonly username: string; readonly password: string };

/** kafkajs `ssl`: the server check, plus the client certificate when the cluster asks for mTLS. */
export interface KafkaSslOptions extends TlsVerifyOptions {
  /** PEM of the client certificate (its chain may follow); set together with `key`. */
  readonly cert?: string;
  /** PEM of the client certificate's unencrypted private key. */
  readonly key?: string;
}

export interface KafkaTlsOptions {
  /** kafkajs `ssl`; undefined means plaintext. */
  readonly ssl: KafkaSslOptions | undefined;
  /**
   * kafkajs `sasl`; undefined means no authentication. Pass it as is: kafkajs stores on this
   * object an authenticator bound to its password, so a `{ ...sasl, password }` copy of a used
   * object would still log in with the old password.
   */
  readonly sasl: KafkaSaslOptions | undefined;
  readonly warning: TlsWarning | undefined;
}

export interface RedisTlsOptions {
  /** ioredis `tls`; set exactly when `REDIS_URL` is `rediss://`. */
  readonly tls: TlsVerifyOptions | undefined;
  readonly warning: TlsWarning | undefined;
}

export interface PgTlsOptions {
  /**
   * `DATABASE_URL` without its `sslmode` parameter. Pass this one, not the original: node-pg lets
   * SSL parameters of the connection string replace the `ssl` option, which would drop the CA.
   */
  readonly connectionString: string;
  /** pg `ssl`; undefined means plaintext. */
  readonly ssl: TlsVerifyOptions | undefined;
  readonly warning: TlsWarning | undefined;
}

const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
/** libpq modes that encrypt; all of them are verified here, host name included (stricter than libpq). */
const PG_TLS_MODES = new Set(['require', 'verify-ca', 'verify-full']);
/** libpq modes that may fall back to plaintext or skip verification. */
const PG_WEAK_MODES = new Set(['allow', 'prefer', 'no-verify']);
/** node-pg reads these from the URL and would override the `ssl` option we build. */
const PG_UNSUPPORTED_PARAMS = ['ssl', 'sslrootcert', 'sslcert', 'sslkey', 'sslnegotiation', 'uselibpqcompat'];

/**
 * kafkajs `ssl` and `sasl` from `KAFKA_SSL`, `KAFKA_SSL_CA`, `KAFKA_SSL_CERT`, `KAFKA_SSL_KEY`,
 * `KAFKA_SASL_MECHANISM`, `KAFKA_SASL_USERNAME` and `KAFKA_SASL_PASSWORD` (or their `*_FILE`).
 *
 * The client authenticates with a certificate (mTLS, `KAFKA_SSL_CERT` + `KAFKA_SSL_KEY`), with
 * SASL, or with both, as the cluster's listener requires. The certificate and key are checked here
 * (a PEM client certificate, not a CA, not expired, the key belongs to it) so a wrong mount fails at
 * start with the variable's name instead of as a handshake error the broker explains to nobody.
 * @see https://kafka.js.org/docs/configuration#ssl
 * @see https://kafka.apache.org/documentation/#security_ssl_clientauth
 */
export function kafkaTls(env: Env = process.env): KafkaTlsOptions {
  const { env: vars, problems } = resolveFileVariables(env, ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD']);
  const development = readMode(vars, problems);
  const ssl = readFlag(vars, 'KAFKA_SSL', problems);
  const caSource = vars.KAFKA_SSL_CA;
  if (caSource !== undefined && !ssl)
    problems.push({ variable: 'KAFKA_SSL_CA', reason: 'is set but KAFKA_SSL is not true' });
  const ca = ssl && caSource !== undefined ? readCa('KAFKA_SSL_CA', caSource, problems) : undefined;
  const client = readClientCertificate(vars, ssl, problems);
  const sasl = readSasl(vars, problems);
  throwIfAny(problems);

  let warning: TlsWarning | undefined;
  if (!ssl && sasl) {
    warning = {
      client: 'kafka',
      reason: 'sasl-over-plaintext',
      message: 'Kafka SASL credentials travel unencrypted (KAFKA_SSL is not true)',
    };
  } else if (!ssl && !development) {
    warning = plaintextWarning(
      'kafka',
      'Kafka connection is plaintext (KAFKA_SSL is not true) outside development mode',
    );
  }
  return { ssl: ssl ? { ...verifyOptions(ca), ...client } : undefined, sasl, warning };
}

/**
 * ioredis `tls` from `REDIS_URL` (`rediss://` means TLS) and `REDIS_TLS_CA`.
 * Use: `new Redis(env.REDIS_URL, { tls })`.
 */
export function redisTls(env: Env = process.env): RedisTlsOptions {
  const { env: vars, problems } = resolveFileVariables(env, ['REDIS_URL']);
  const development = readMode(vars, problems);
  const url = readUrl(vars, 'REDIS_URL', ['redis:', 'rediss:'], problems);
  const secure = url?.protocol === 'rediss:';
  const caSource = vars.REDIS_TLS_CA;
  if (caSource !== undefined && url !== undefined && !secure) {
    problems.push({ variable: 'REDIS_TLS_CA', reason: 'is set but REDIS_URL is not rediss://' });
  }
  const ca = secure && caSource !== undefined ? readCa('REDIS_TLS_CA', caSource, problems) : undefined;
  throwIfAny(problems);

  const warning =
    secure || development
      ? undefined
      : plaintextWarning(
          'redis',
          'Redis connection is plaintext (REDIS_URL is not rediss://) outside development mode',
        );
  return { tls: secure ? verifyOptions(ca) : undefined, warning };
}

/**
 * pg `ssl` from the `sslmode` of `DATABASE_URL` and `PG_SSL_CA`.
 * Use: `new Pool({ connectionString, ssl })` with both values returned here.
 * @see https://www.postgresql.org/docs/15/libpq-ssl.html#LIBPQ-SSL-PROTECTION
 */
export function pgTls(env: Env = process.env): PgTlsOptions {
  const { env: vars, problems } = resolveFileVariables(env, ['DATABASE_URL']);
  const development = readMode(vars, problems);
  const url = readUrl(vars, 'DATABASE_URL', ['postgres:', 'postgresql:'], problems);
  const sslmode = url?.searchParams.get('sslmode') ?? 'disable';
  const secure = PG_TLS_MODES.has(sslmode);
  if (url !== undefined) {
    if (PG_WEAK_MODES.has(sslmode)) {
      problems.push({
        variable: 'DATABASE_URL',
        reason: `sslmode=${sslmode} does not verify the server; use verify-full or disable`,
      });
    } else if (!secure && sslmode !== 'disable') {
      problems.push({
        variable: 'DATABASE_URL',
        reason: 'sslmode must be one of: disable, require, verify-ca, verify-full',
      });
    }
    const unsupported = PG_UNSUPPORTED_PARAMS.filter((p) => url.searchParams.has(p));
    if (unsupported.length > 0) {
      problems.push({
        variable: 'DATABASE_URL',
        reason: `unsupported parameter(s) ${unsupported.join(', ')}; use sslmode and PG_SSL_CA`,
      });
    }
  }
  const caSource = vars.PG_SSL_CA;
  if (caSource !== undefined && url !== undefined && !secure) {
    problems.push({ variable: 'PG_SSL_CA', reason: 'is set but DATABASE_URL has no sslmode=verify-full' });
  }
  const ca = secure && caSource !== undefined ? readCa('PG_SSL_CA', caSource, problems) : undefined;
  // A missing or invalid URL is already among the problems.
  if (problems.length > 0 || url === undefined) throw new ConfigError(problems);

  url.searchParams.delete('sslmode');
  const warning =
    secure || development
      ? undefined
      : plaintextWarning(
          'postgres',
          'PostgreSQL connection is plaintext (no sslmode=verify-full) outside development mode',
        );
  return { connectionString: url.toString(), ssl: secure ? verifyOptions(ca) : undefined, warning };
}

function verifyOptions(ca: string | undefined): TlsVerifyOptions {
  return ca === undefined ? { rejectUnauthorized: true } : { ca, rejectUnauthorized: true };
}

/** @internal */
export function plaintextWarning(client: TlsClient, message: string): TlsWarning {
  return { client, reason: 'plaintext-outside-development', message };
}

/** @internal */
export function throwIfAny(problems: readonly ConfigProblem[]): void {
  if (problems.length > 0) throw new ConfigError(problems);
}

/** @internal */
export function readMode(vars: Env, problems: ConfigProblem[]): boolean {
  const parsed = mode.safeParse(vars.EHRFLOW_MODE);
  if (!parsed.success) {
    problems.push({
      variable: 'EHRFLOW_MODE',
      reason: `expected one of: ${mode.unwrap().options.join(', ')}`,
    });
    return false;
  }
  return parsed.data === 'development';
}

function readFlag(vars: Env, name: string, problems: ConfigProblem[]): boolean {
  const parsed = booleanFlag(false).safeParse(vars[name]);
  if (parsed.success) return parsed.data;
  problems.push({ variable: name, reason: 'expected one of: true, false, 1, 0, yes, no' });
  return false;
}

function readSasl(vars: Env, problems: ConfigProblem[]): KafkaSaslOptions | undefined {
  const mechanism = vars.KAFKA_SASL_MECHANISM;
  const username = vars.KAFKA_SASL_USERNAME;
  const password = vars.KAFKA_SASL_PASSWORD;
  if (mechanism === undefined) {
    if (username !== undefined)
      problems.push({
        variable: 'KAFKA_SASL_MECHANISM',
        reason: 'is required when KAFKA_SASL_USERNAME is set',
      });
    return undefined;
  }
  if (username === undefined)
    problems.push({
      variable: 'KAFKA_SASL_USERNAME',
      reason: 'is required when KAFKA_SASL_MECHANISM is set',
    });
  if (password === undefined)
    problems.push({
      variable: 'KAFKA_SASL_PASSWORD',
      reason: 'is required when KAFKA_SASL_MECHANISM is set',
    });
  if (username === undefined || password === undefined) return undefined;
  switch (mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
    default:
      problems.push({
        variable: 'KAFKA_SASL_MECHANISM',
        reason: `expected one of: ${SASL_MECHANISMS.join(', ')}`,
      });
      return undefined;
  }
}

function readUrl(
  vars: Env,
  name: string,
  protocols: readonly string[],
  problems: ConfigProblem[],
): URL | undefined {
  const raw = vars[name];
  if (raw === undefined) {
    problems.push({ variable: name, reason: 'is required' });
    return undefined;
  }
  // The URL may carry a password: neither it nor the parser's message goes into the problem.
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (url === undefined || !protocols.includes(url.protocol)) {
    problems.push({ variable: name, reason: `must be a ${protocols.map((p) => `${p}//`).join(' or ')} URL` });
    return undefined;
  }
  return url;
}

/** PEM text: the variable holds either a path to a PEM file or the PEM itself. */
function readPem(variable: string, source: string, problems: ConfigProblem[]): string | undefined {
  if (source.trimStart().startsWith('-----BEGIN')) return source;
  try {
    return readFileSync(source, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    problems.push({ variable, reason: `cannot read the file it names (${code})` });
    return undefined;
  }
}

/**
 * The client certificate and key for mTLS, both or neither. Neither value, nor the parser's
 * message about it, goes into a problem: the key is a secret.
 */
function readClientCertificate(
  vars: Env,
  ssl: boolean,
  problems: ConfigProblem[],
): { cert: string; key: string } | undefined {
  const certSource = vars.KAFKA_SSL_CERT;
  const keySource = vars.KAFKA_SSL_KEY;
  if (certSource === undefined && keySource === undefined) return undefined;
  const before = problems.length;
  if (!ssl) {
    for (const [variable, value] of [
      ['KAFKA_SSL_CERT', certSource],
      ['KAFKA_SSL_KEY', keySource],
    ] as const)
      if (value !== undefined) problems.push({ variable, reason: 'is set but KAFKA_SSL is not true' });
    return undefined;
  }
  if (certSource === undefined)
    problems.push({ variable: 'KAFKA_SSL_CERT', reason: 'is required when KAFKA_SSL_KEY is set' });
  if (keySource === undefined)
    problems.push({ variable: 'KAFKA_SSL_KEY', reason: 'is required when KAFKA_SSL_CERT is set' });
  if (certSource === undefined || keySource === undefined) return undefined;

  const cert = readPem('KAFKA_SSL_CERT', certSource, problems);
  const key = readPem('KAFKA_SSL_KEY', keySource, problems);
  let x509: X509Certificate | undefined;
  if (cert !== undefined) {
    try {
      x509 = new X509Certificate(cert);
    } catch {
      problems.push({ variable: 'KAFKA_SSL_CERT', reason: 'is not a PEM certificate' });
    }
  }
  if (x509 !== undefined) {
    if (x509.ca)
      problems.push({ variable: 'KAFKA_SSL_CERT', reason: 'is a CA certificate, not a client certificate' });
    else if (Date.parse(x509.validTo) <= Date.now())
      problems.push({ variable: 'KAFKA_SSL_CERT', reason: 'has expired' });
  }
  let keyObject: KeyObject | undefined;
  if (key !== undefined) {
    try {
      keyObject = createPrivateKey(key);
    } catch {
      problems.push({ variable: 'KAFKA_SSL_KEY', reason: 'is not an unencrypted PEM private key' });
    }
  }
  if (x509 !== undefined && keyObject !== undefined && !x509.checkPrivateKey(keyObject))
    problems.push({
      variable: 'KAFKA_SSL_KEY',
      reason: 'does not belong to the certificate in KAFKA_SSL_CERT',
    });
  if (problems.length > before || cert === undefined || key === undefined) return undefined;
  return { cert, key };
}

/**
 * The CA as PEM: the variable holds either a path to a PEM file or the PEM itself.
 * @internal shared with registry-transport.ts, not part of the package's API.
 */
export function readCa(variable: string, source: string, problems: ConfigProblem[]): string | undefined {
  const pem = readPem(variable, source, problems);
  if (pem === undefined) return undefined;
  let isCa: boolean;
  try {
    isCa = new X509Certificate(pem).ca;
  } catch {
    problems.push({ variable, reason: 'is not a PEM certificate' });
    return undefined;
  }
  // Pinning the server's own certificate instead of its issuer fails every handshake: say so now.
  if (!isCa) {
    problems.push({ variable, reason: 'is not a CA certificate' });
    return undefined;
  }
  return pem;
}
