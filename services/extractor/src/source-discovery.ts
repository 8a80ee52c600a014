import { ConfigError, type ConfigProblem } from '@ehrflow/config';
import { isPipelineError } from '@ehrflow/errors';
import {
  discoverSmartConfiguration,
  SmartDiscoveryError,
  smartConfigurationUrl,
  type HttpLogger,
  type SmartConfiguration,
} from '@ehrflow/http';
import { retry, type RetryPolicy } from '@ehrflow/resilience';
import type { DeclaredSource, SourceConfig } from './sources.ts';

export interface DiscoveryDeps {
  /** Reads `<baseUrl>/.well-known/smart-configuration` (injectable for tests). */
  readonly discover?: (baseUrl: string) => Promise<SmartConfiguration>;
  /** Retries of an unreachable discovery document (5xx, network). */
  readonly retryPolicy: RetryPolicy;
  readonly logger: HttpLogger;
}

/**
 * Completes every source whose file omits `tokenUrl` with the token endpoint its SMART
 * configuration publishes; sources that name one are used as written (no request). Each source
 * that cannot be completed becomes one problem of a single `ConfigError`, so a start-up names
 * them all. A configured JWT algorithm the server does not list is logged as a warning, not
 * refused (servers often publish partial lists).
 *
 * @throws ConfigError (CONFIG_INVALID) listing the sources whose token URL could not be found.
 * @see https://hl7.org/fhir/smart-app-launch/conformance.html#using-well-known
 */
export async function resolveTokenUrls(
  declared: readonly DeclaredSource[],
  deps: DiscoveryDeps,
): Promise<SourceConfig[]> {
  const discover = deps.discover ?? ((baseUrl: string) => discoverSmartConfiguration(baseUrl));
  const problems: ConfigProblem[] = [];
  const resolved = await Promise.all(
    declared.map(async (source): Promise<SourceConfig | undefined> => {
      if (source.tokenUrl !== undefined) return { ...source, tokenUrl: source.tokenUrl };
      let config: SmartConfiguration;
      try {
        config = await retry(() => discover(source.baseUrl), deps.retryPolicy);
      } catch (err) {
        problems.push({ variable: `source ${source.id}: tokenUrl`, reason: whyNot(source.baseUrl, err) });
        return undefined;
      }
      if (
        source.auth.kind === 'jwt' &&
        config.signingAlgs.length > 0 &&
        !config.signingAlgs.includes(source.auth.alg)
      ) {
        deps.logger.warn(
          { sourceId: source.id, alg: source.auth.alg, advertised: config.signingAlgs.join(',') },
          'the SMART configuration does not list the configured signing algorithm',
        );
      }
      deps.logger.info({ sourceId: source.id }, 'token endpoint found by SMART discovery');
      return { ...source, tokenUrl: config.tokenEndpoint };
    }),
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return resolved.filter((s): s is SourceConfig => s !== undefined);
}

/** The problem text: what was tried and what came back, never a response body. */
function whyNot(baseUrl: string, err: unknown): string {
  const prefix = 'is not in the sources file and SMART discovery failed:';
  const last = isPipelineError(err) && err.code === 'RETRIES_EXHAUSTED' ? err.cause : err;
  if (last instanceof SmartDiscoveryError) {
    const again = last === err ? '' : ' (after retries)';
    return `${prefix} ${last.message}${again}; set tokenUrl or fix baseUrl`;
  }
  return `${prefix} ${smartConfigurationUrl(baseUrl)} could not be read (${isPipelineError(last) ? last.code : 'error'})`;
}
