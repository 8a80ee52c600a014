import { resolveFileVariables, type Env } from './env.ts';
import { readCa, readMode, throwIfAny, type TlsWarning } from './tls.ts';

/**
 * How the schema registry client reaches its registry: the CA it pins and the basic-auth
 * credentials it sends, from `SCHEMA_REGISTRY_CA` (a path to a PEM file or the PEM itself, as for
 * the other CAs) and `SCHEMA_REGISTRY_USERNAME` / `SCHEMA_REGISTRY_PASSWORD` (or their `*_FILE`,
 * the files of a mounted Secret). A registry often has a CA of its own (an internal PKI other than
 * the Kafka cluster's), so it gets its own variable rather than sharing `KAFKA_SSL_CA`.
 */
export interface RegistryTransportOptions {
  /** PEM of the pinned CA; absent means Node's default trust store. */
  readonly ca?: string;
  /** HTTP basic auth; absent means none (or credentials in `SCHEMA_REGISTRY_URL`, the older way). */
  readonly basicAuth?: { readonly username: string; readonly password: string };
  readonly warning: TlsWarning | undefined;
}

/**
 * Reads the registry's CA and credentials. Inconsistent settings (a username without a password,
 * credentials both in the URL and in the variables, a CA with an `http://` URL) are a `ConfigError`
 * listing every problem by variable name, never by value. Credentials over `http://` outside
 * development mode come back as a `warning`.
 * @see https://docs.confluent.io/platform/current/schema-registry/security/index.html
 */
export function registryTransport(env: Env = process.env): RegistryTransportOptions {
  const { env: vars, problems } = resolveFileVariables(env, [
    'SCHEMA_REGISTRY_USERNAME',
    'SCHEMA_REGISTRY_PASSWORD',
  ]);
  const development = readMode(vars, problems);
  const username = vars.SCHEMA_REGISTRY_USERNAME;
  const password = vars.SCHEMA_REGISTRY_PASSWORD;
  if (username !== undefined && password === undefined)
    problems.push({
      variable: 'SCHEMA_REGISTRY_PASSWORD',
      reason: 'is required when SCHEMA_REGISTRY_USERNAME is set',
    });
  if (password !== undefined && username === undefined)
    problems.push({
      variable: 'SCHEMA_REGISTRY_USERNAME',
      reason: 'is required when SCHEMA_REGISTRY_PASSWORD is set',
    });

  // Only the scheme and whether the URL carries a user are looked at; the URL itself is never
  // repeated (it may hold a password).
  const rawUrl = vars.SCHEMA_REGISTRY_URL;
  const url = rawUrl !== undefined && URL.canParse(rawUrl) ? new URL(rawUrl) : undefined;
  if (url !== undefined && url.username !== '' && username !== undefined)
    problems.push({
      variable: 'SCHEMA_REGISTRY_USERNAME',
      reason: 'is set but SCHEMA_REGISTRY_URL carries credentials too; set only one',
    });
  const caSource = vars.SCHEMA_REGISTRY_CA;
  if (caSource !== undefined && url?.protocol === 'http:')
    problems.push({
      variable: 'SCHEMA_REGISTRY_CA',
      reason: 'is set but SCHEMA_REGISTRY_URL is not https://',
    });
  const ca = caSource !== undefined ? readCa('SCHEMA_REGISTRY_CA', caSource, problems) : undefined;
  throwIfAny(problems);

  const sendsCredentials = username !== undefined || (url !== undefined && url.username !== '');
  const warning: TlsWarning | undefined =
    sendsCredentials && url?.protocol === 'http:' && !development
      ? {
          client: 'schema-registry',
          reason: 'credentials-over-plaintext',
          message: 'schema registry credentials travel unencrypted (SCHEMA_REGISTRY_URL is not https://)',
        }
      : undefined;
  return {
    ...(ca !== undefined ? { ca } : {}),
    ...(username !== undefined && password !== undefined ? { basicAuth: { username, password } } : {}),
    warning,
  };
}
