import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { PipelineError } from '@ehrflow/errors';

/** Folder of `schemas/` holding the accepted fill-rate baselines, one `<sourceId>.json` per source. */
export const BASELINES_DIR = 'baselines';

const rate = z.number().min(0).max(1);

/**
 * An accepted fill-rate baseline: what share of a source's records carries each field, learned
 * from what the source actually sent (`npm run schemas -- baseline --source S`) and accepted by a
 * steward (committed). Carries field names and rates only.
 */
export const baselineSchema = z.strictObject({
  source: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  /** When the rates were learned (ISO instant). */
  learnedAt: z.string(),
  /** Records the rates were learned from, per resource type. */
  records: z.record(z.string(), z.number().int().nonnegative()),
  /** Expected fill rate per resource type and contract field. */
  fillRates: z.record(z.string(), z.record(z.string(), rate)),
});

export type SourceBaseline = z.infer<typeof baselineSchema>;

/** The accepted baselines of every source, by source id. */
export interface Baselines {
  readonly sources: readonly string[];
  /** Accepted rates of one source for one type; undefined when the source has no baseline. */
  ratesFor(sourceId: string, resourceType: string): Readonly<Record<string, number>> | undefined;
}

/**
 * Reads every `<dir>/*.json` baseline (a missing folder is no baseline). Checked at load: a bad
 * file fails the start, naming the file.
 *
 * @throws PipelineError SCHEMA_INVALID naming the file and the problem.
 */
export function loadBaselines(dir: string): Baselines {
  const bySource = new Map<string, SourceBaseline>();
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
    : [];
  for (const file of files) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    } catch {
      throw new PipelineError('SCHEMA_INVALID', `${BASELINES_DIR}/${file}: not valid JSON`, {
        context: { file },
      });
    }
    const parsed = baselineSchema.safeParse(json);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`,
      );
      throw new PipelineError('SCHEMA_INVALID', `${BASELINES_DIR}/${file}: ${problems.join('; ')}`, {
        context: { file },
      });
    }
    if (`${parsed.data.source}.json` !== file) {
      throw new PipelineError(
        'SCHEMA_INVALID',
        `${BASELINES_DIR}/${file}: names source ${parsed.data.source}`,
        {
          context: { file },
        },
      );
    }
    bySource.set(parsed.data.source, parsed.data);
  }
  return {
    sources: [...bySource.keys()],
    ratesFor(sourceId, resourceType) {
      const baseline = bySource.get(sourceId);
      return baseline === undefined ? undefined : (baseline.fillRates[resourceType] ?? {});
    },
  };
}
