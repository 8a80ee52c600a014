import { contractOf, type Codec, type SourceBaseline } from '@ehrflow/contracts';
import { readRange, type KafkaClient } from '@ehrflow/kafka';

export interface LearnBaselineOptions {
  /** The source whose records are counted. */
  readonly source: string;
  readonly resourceTypes: readonly string[];
  /** `ehr.valid.` → topics `ehr.valid.<Type>`. */
  readonly validTopicPrefix: string;
  /** Clock, for the `learnedAt` stamp. */
  readonly now?: () => number;
}

/** Fill rate of one field as learned, next to what the contract guessed. */
export interface LearnedRate {
  readonly resourceType: string;
  readonly field: string;
  readonly learned: number;
  readonly contract: number | null;
}

/**
 * Learns a source's fill-rate baseline from what it actually sent: reads each `ehr.valid.<Type>`
 * topic to its end (valid records of every source are there, PHI fields encrypted — only their
 * presence is counted, nothing is decrypted), keeps the records of `source` and computes, per
 * contract field mapped from the resource, the share of records carrying it. A type the source
 * sent nothing of is left out. The result is a proposal: a steward reviews it and commits it as
 * `schemas/baselines/<source>.json`, the baseline the validator then compares the source with.
 */
export async function learnBaseline(
  deps: { readonly kafka: KafkaClient; readonly codec: Codec },
  options: LearnBaselineOptions,
): Promise<{ baseline: SourceBaseline; rates: LearnedRate[] }> {
  const records: Record<string, number> = {};
  const fillRates: Record<string, Record<string, number>> = {};
  const rates: LearnedRate[] = [];
  for (const type of options.resourceTypes) {
    const topic = `${options.validTopicPrefix}${type}`;
    const latest = await deps.codec.latestVersion(`${topic}-value`);
    const contract = contractOf(latest.text, `${latest.subject} v${latest.version}`);
    const fields = contract.fields.filter(
      (f) => f.path === f.name && (f.fhirPath !== undefined || f.attrs.fhirChoice !== undefined),
    );
    const filled = new Map<string, number>();
    let count = 0;
    await readRange(deps.kafka, topic, async (messages) => {
      for (const { message } of messages) {
        if (message.value === null) continue;
        const { value } = await deps.codec.decode<Record<string, unknown>>(message.value);
        if (value.sourceId !== options.source) continue;
        count++;
        for (const f of fields)
          if (isFilled(value[f.name])) filled.set(f.name, (filled.get(f.name) ?? 0) + 1);
      }
    });
    if (count === 0) continue;
    records[type] = count;
    const byField: Record<string, number> = {};
    for (const f of fields) {
      const learned = Math.round(((filled.get(f.name) ?? 0) / count) * 1000) / 1000;
      byField[f.name] = learned;
      rates.push({ resourceType: type, field: f.name, learned, contract: f.fillRate ?? null });
    }
    fillRates[type] = byField;
  }
  const now = options.now ?? Date.now;
  return {
    baseline: { source: options.source, learnedAt: new Date(now()).toISOString(), records, fillRates },
    rates,
  };
}

function isFilled(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return false;
  return !Array.isArray(value) || value.length > 0;
}
