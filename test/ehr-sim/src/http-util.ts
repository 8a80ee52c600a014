import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { SimContext } from './context.ts';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';
export const FHIR_NDJSON = 'application/fhir+ndjson';

/** Route parameters of everything under /<site>/. */
export interface SiteParams {
  site: string;
}

export type Query = Record<string, string | string[] | undefined>;

/** A one-issue OperationOutcome. @see https://hl7.org/fhir/R4/operationoutcome.html */
export function outcome(
  severity: 'error' | 'information',
  code: string,
  diagnostics: string,
): Record<string, unknown> {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

/** Answers with an OperationOutcome; returns the reply so async hooks can `return` it. */
export function sendOutcome(
  reply: FastifyReply,
  status: number,
  code: string,
  diagnostics: string,
): FastifyReply {
  const severity = status < 400 ? 'information' : 'error';
  return reply
    .code(status)
    .type(FHIR_JSON)
    .send(outcome(severity, code, diagnostics));
}

/** Scheme and authority the client addressed, so URLs we hand out work through any host name. */
export function originOf(request: FastifyRequest): string {
  return `${request.protocol}://${request.headers.host ?? request.host}`;
}

/** The single value of a query parameter, or undefined; a repeated parameter yields its first value. */
export function single(query: Query, name: string): string | undefined {
  const value = query[name];
  return Array.isArray(value) ? value[0] : value;
}

/** All values of a query parameter. */
export function all(query: Query, name: string): string[] {
  const value = query[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** preHandler that refuses requests without a valid bearer token of this site (401). */
export function bearerGuard(ctx: SimContext): preHandlerAsyncHookHandler {
  return async function requireBearer(request, reply) {
    const { site } = request.params as SiteParams;
    const check = ctx.auth.checkBearer(site, request.headers.authorization, ctx.now());
    if (check.ok) return;
    reply.header(
      'WWW-Authenticate',
      check.reason === 'missing' ? 'Bearer realm="ehr-sim"' : 'Bearer realm="ehr-sim", error="invalid_token"',
    );
    return sendOutcome(reply, 401, 'login', `access token ${check.reason}`);
  };
}

/** Parses a FHIR instant/dateTime to ms; undefined when it is not one. */
export function parseInstant(text: string): number | undefined {
  if (!/^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/.test(text))
    return undefined;
  const ms = Date.parse(text.length === 4 ? `${text}-01-01` : text);
  return Number.isNaN(ms) ? undefined : ms;
}
