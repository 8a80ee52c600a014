import { ConfigError } from '@ehrflow/config';
import { isPipelineError } from '@ehrflow/errors';

/**
 * What a failed start prints: every configuration problem on its own line (variable or source
 * field, and what was expected), else the error's code and its message (PHI-free by rule).
 */
export function startFailure(err: unknown): string {
  if (err instanceof ConfigError) {
    return `extractor: invalid configuration\n${err.problems.map((p) => `  ${p.variable}: ${p.reason}\n`).join('')}`;
  }
  if (isPipelineError(err)) return `the extractor could not start: ${err.code}: ${err.message}\n`;
  return `the extractor could not start: ${err instanceof Error ? err.name : 'error'}\n`;
}
