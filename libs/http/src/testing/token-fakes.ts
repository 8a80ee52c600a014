// Test support only (not exported from index.ts): a scripted token endpoint.
import type { TokenEndpointOptions, TokenFetch, TokenRequest, TokenResponse } from '../token-endpoint.ts';

export const TOKEN_URL = 'https://ehr.example/oauth2/token';

/** A 200 answer carrying `token`. */
export function ok(token: string, expiresIn = 300): TokenResponse {
  return {
    status: 200,
    headers: {},
    body: JSON.stringify({ access_token: token, token_type: 'bearer', expires_in: expiresIn }),
  };
}

/** A fake token endpoint that records requests and answers from a script (n is 1-based). */
export function fakeFetch(answer: (req: TokenRequest, n: number) => TokenResponse | Promise<TokenResponse>): {
  fetch: TokenFetch;
  requests: TokenRequest[];
} {
  const requests: TokenRequest[] = [];
  return {
    requests,
    fetch: async (req) => {
      requests.push(req);
      return answer(req, requests.length);
    },
  };
}

/** Client-secret settings for a source, with the given fetch. */
export function secretOptions(fetch: TokenFetch | undefined): TokenEndpointOptions {
  return {
    sourceId: 'epic-sandbox',
    tokenUrl: TOKEN_URL,
    clientId: 'client 1',
    auth: { kind: 'secret', secret: 's3cr:et' },
    scopes: ['system/Patient.rs', 'system/Observation.rs'],
    fetch,
  };
}
