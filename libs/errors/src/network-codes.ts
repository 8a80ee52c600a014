/**
 * Codes of Node's socket and DNS failures that mean "the network, not the request": a connection
 * refused, reset or aborted, a timeout, an unreachable host or network, a DNS lookup that failed
 * (a hiccup on a VPN). Every client sorts these as transient; one list, so they agree.
 * @see https://nodejs.org/api/errors.html#common-system-errors
 */
export const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
]);
