// Segments kept in a route label; anything else may be an id and becomes ':id'.
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const OPERATION = /^\$[A-Za-z][A-Za-z-]*$/;
const KEYWORD = /^_[a-z]+$/;
const WELL_KNOWN = new Set(['metadata', '.well-known', 'smart-configuration']);

/**
 * A log- and metric-safe label for a request path: no query string, no fragment, and every
 * segment that could be an id replaced by `:id`. The configured base path is kept verbatim.
 *
 * FHIR resource types (`Patient`), operations (`$export`), keywords (`_history`) and discovery
 * paths survive; an id shaped like a resource type would survive too, which FHIR servers do not
 * issue in practice (ids carry digits or dashes). Callers that know their route pass it instead.
 *
 * @example routeOf('/fhir/R4/Patient/123/$everything?since=x', '/fhir/R4') === '/fhir/R4/Patient/:id/$everything'
 */
export function routeOf(pathOrUrl: string, basePath = ''): string {
  let pathname: string;
  try {
    pathname = new URL(pathOrUrl, 'http://route.invalid').pathname;
  } catch {
    return ':unparseable';
  }
  const base = basePath.replace(/\/+$/, '');
  const rest =
    base !== '' && (pathname === base || pathname.startsWith(`${base}/`))
      ? pathname.slice(base.length)
      : pathname;
  const prefix = rest === pathname ? '' : base;
  const segments = rest
    .split('/')
    .map((segment) => (segment === '' || isSafeSegment(segment) ? segment : ':id'));
  return `${prefix}${segments.join('/')}`;
}

function isSafeSegment(segment: string): boolean {
  return (
    RESOURCE_TYPE.test(segment) || OPERATION.test(segment) || KEYWORD.test(segment) || WELL_KNOWN.has(segment)
  );
}
