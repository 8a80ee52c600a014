import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';

/**
 * A registered backend client: a JWKS for `private_key_jwt` (RS384/ES384 assertions) and/or a
 * secret for `client_secret_basic` / `client_secret_post`.
 */
export interface ClientRegistration {
  readonly clientId: string;
  readonly jwks?: JSONWebKeySet;
  readonly secret?: string;
}

/** RFC 6749 §5.2 error answer of the token endpoint. */
export interface TokenError {
  readonly status: 400 | 401;
  readonly error:
    'invalid_request' | 'invalid_client' | 'invalid_grant' | 'unsupported_grant_type' | 'invalid_scope';
  readonly description: string;
}

export interface TokenGrant {
  readonly access_token: string;
  readonly token_type: 'bearer';
  readonly expires_in: number;
  readonly scope: string;
}

/** Why a bearer token was refused (all answered 401). */
export type BearerFailure = 'missing' | 'invalid' | 'expired' | 'revoked';

export type BearerCheck =
  { readonly ok: true; readonly clientId: string } | { readonly ok: false; readonly reason: BearerFailure };

/** The parts of a token request the endpoint reads. */
export interface TokenRequest {
  readonly site: string;
  readonly form: Readonly<Record<string, string | undefined>>;
  readonly authorization: string | undefined;
  /** The token URL as the client addressed it; the assertion's `aud` must name it. */
  readonly tokenUrl: string;
  readonly now: number;
}

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const DEFAULT_SCOPE = 'system/*.read';
/** Longest accepted assertion lifetime: SMART says exp at most five minutes ahead. */
const MAX_ASSERTION_AHEAD_S = 300;
/** Allowance for clock skew between client and simulator. */
const SKEW_S = 5;

interface IssuedToken {
  readonly clientId: string;
  readonly site: string;
  readonly expiresAtMs: number;
}

/**
 * SMART Backend Services authorization for all sites: client registry, token issue, bearer checks
 * and revocation. Tokens are opaque random strings bound to a client and a site.
 *
 * @see https://hl7.org/fhir/smart-app-launch/backend-services.html
 * @see https://www.rfc-editor.org/rfc/rfc7523#section-3
 */
export class AuthServer {
  private readonly clients = new Map<string, ClientRegistration>();
  private readonly revoked = new Set<string>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly seenJti = new Map<string, number>();
  private lifetimeSeconds: number;

  constructor(tokenLifetimeSeconds: number, clients: readonly ClientRegistration[] = []) {
    this.lifetimeSeconds = tokenLifetimeSeconds;
    for (const client of clients) this.register(client);
  }

  get tokenLifetimeSeconds(): number {
    return this.lifetimeSeconds;
  }

  /** Registers (or replaces) a client; a re-registered client is no longer revoked. */
  register(client: ClientRegistration): void {
    if (typeof client.clientId !== 'string' || client.clientId === '')
      throw new RangeError('clientId is required');
    if (client.jwks === undefined && client.secret === undefined)
      throw new RangeError(`client ${client.clientId} needs jwks or secret`);
    if (client.jwks !== undefined && !Array.isArray(client.jwks.keys))
      throw new RangeError(`client ${client.clientId}: jwks.keys must be a list`);
    this.clients.set(client.clientId, client);
    this.revoked.delete(client.clientId);
  }

  clientIds(): string[] {
    return [...this.clients.keys()];
  }

  /** Refuses further token requests of the client and invalidates every token it holds. */
  revoke(clientId: string): void {
    this.revoked.add(clientId);
    for (const [token, issued] of this.tokens) if (issued.clientId === clientId) this.tokens.delete(token);
  }

  /** Handles a `client_credentials` token request. */
  async issue(req: TokenRequest): Promise<TokenGrant | TokenError> {
    const { form } = req;
    if (form.grant_type === undefined) return invalid(400, 'invalid_request', 'grant_type is required');
    if (form.grant_type !== 'client_credentials')
      return invalid(400, 'unsupported_grant_type', 'only client_credentials is supported');
    const scope = form.scope ?? DEFAULT_SCOPE;
    if (!scope.split(' ').every((s) => /^system\/[A-Za-z*]+\.(read|rs|cruds|\*)$/.test(s))) {
      return invalid(400, 'invalid_scope', 'backend services grant system/ scopes only');
    }
    const authenticated =
      form.client_assertion !== undefined ? await this.byAssertion(req) : this.bySecret(req);
    if (typeof authenticated !== 'string') return authenticated;
    this.prune(req.now);
    const access = randomBytes(24).toString('base64url');
    this.tokens.set(access, {
      clientId: authenticated,
      site: req.site,
      expiresAtMs: req.now + this.lifetimeSeconds * 1000,
    });
    return { access_token: access, token_type: 'bearer', expires_in: this.lifetimeSeconds, scope };
  }

  /** Checks an Authorization header for a resource request at a site. */
  checkBearer(site: string, authorization: string | undefined, now: number): BearerCheck {
    const token = bearerOf(authorization);
    if (token === undefined) return { ok: false, reason: 'missing' };
    const issued = this.tokens.get(token);
    if (issued === undefined) return { ok: false, reason: 'invalid' };
    if (this.revoked.has(issued.clientId)) return { ok: false, reason: 'revoked' };
    if (issued.site !== site) return { ok: false, reason: 'invalid' };
    if (now >= issued.expiresAtMs) return { ok: false, reason: 'expired' };
    return { ok: true, clientId: issued.clientId };
  }

  /** Client id behind a bearer header, valid or not, for rate-limit accounting. */
  clientOf(authorization: string | undefined): string | undefined {
    const token = bearerOf(authorization);
    return token === undefined ? undefined : this.tokens.get(token)?.clientId;
  }

  private async byAssertion(req: TokenRequest): Promise<string | TokenError> {
    const { form, now } = req;
    if (form.client_assertion_type !== JWT_BEARER)
      return invalid(400, 'invalid_request', `client_assertion_type must be ${JWT_BEARER}`);
    const assertion = form.client_assertion ?? '';
    let claims: JWTPayload;
    try {
      claims = decodeJwt(assertion);
    } catch {
      return invalid(401, 'invalid_client', 'client_assertion is not a JWT');
    }
    const clientId = claims.iss;
    if (typeof clientId !== 'string' || claims.sub !== clientId)
      return invalid(401, 'invalid_client', 'iss and sub must both be the client id');
    const client = this.usableClient(clientId);
    if ('error' in client) return client;
    if (client.jwks === undefined) return invalid(401, 'invalid_client', 'client has no registered JWKS');
    try {
      await jwtVerify(assertion, createLocalJWKSet(client.jwks), {
        algorithms: ['RS384', 'ES384'],
        currentDate: new Date(now),
        clockTolerance: SKEW_S,
        requiredClaims: ['exp', 'jti'],
      });
    } catch (err) {
      if (err instanceof errors.JWTExpired)
        return invalid(400, 'invalid_grant', 'client_assertion has expired');
      if (err instanceof errors.JWTClaimValidationFailed)
        return invalid(400, 'invalid_grant', `client_assertion claim ${err.claim} is invalid`);
      return invalid(
        401,
        'invalid_client',
        'client_assertion signature could not be verified with the registered keys',
      );
    }
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!audiences.some((aud) => typeof aud === 'string' && trimSlash(aud) === trimSlash(req.tokenUrl))) {
      return invalid(400, 'invalid_grant', 'client_assertion aud must be the token endpoint URL');
    }
    const exp = claims.exp ?? 0;
    if (exp > now / 1000 + MAX_ASSERTION_AHEAD_S + SKEW_S)
      return invalid(400, 'invalid_grant', 'client_assertion exp is more than 5 minutes ahead');
    const jtiKey = `${clientId}\u0000${String(claims.jti)}`;
    if (this.seenJti.has(jtiKey))
      return invalid(400, 'invalid_grant', 'client_assertion jti was already used');
    this.seenJti.set(jtiKey, exp * 1000 + SKEW_S * 1000);
    return clientId;
  }

  private bySecret(req: TokenRequest): string | TokenError {
    const basic = basicCredentials(req.authorization);
    const clientId = basic?.id ?? req.form.client_id;
    const secret = basic?.secret ?? req.form.client_secret;
    if (clientId === undefined || secret === undefined) {
      return invalid(
        basic === undefined ? 400 : 401,
        basic === undefined ? 'invalid_request' : 'invalid_client',
        'client authentication is required',
      );
    }
    const client = this.usableClient(clientId);
    if ('error' in client) return client;
    if (client.secret === undefined || !sameSecret(client.secret, secret))
      return invalid(401, 'invalid_client', 'client secret does not match');
    return clientId;
  }

  private usableClient(clientId: string): ClientRegistration | TokenError {
    const client = this.clients.get(clientId);
    if (client === undefined) return invalid(401, 'invalid_client', 'unknown client');
    if (this.revoked.has(clientId)) return invalid(401, 'invalid_client', 'client has been revoked');
    return client;
  }

  private prune(now: number): void {
    for (const [jti, until] of this.seenJti) if (until < now) this.seenJti.delete(jti);
    for (const [token, issued] of this.tokens) if (issued.expiresAtMs <= now) this.tokens.delete(token);
  }
}

function invalid(status: TokenError['status'], error: TokenError['error'], description: string): TokenError {
  return { status, error, description };
}

export function isTokenError(value: TokenGrant | TokenError): value is TokenError {
  return 'error' in value;
}

function bearerOf(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  return match?.[1];
}

/** RFC 6749 §2.3.1: id and secret are form-urlencoded before base64. */
function basicCredentials(authorization: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization ?? '');
  if (match?.[1] === undefined) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const unform = (part: string): string => decodeURIComponent(part.replaceAll('+', ' '));
    return { id: unform(decoded.slice(0, colon)), secret: unform(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function sameSecret(expected: string, given: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(expected), digest(given));
}

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}
