import { readFileSync } from 'node:fs';
import { PipelineError } from '@ehrflow/errors';
import type { Admin } from 'kafkajs';

/** One topic as the declarative list describes it; `{type}` in a name expands per resource type. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly config?: Readonly<Record<string, string>>;
}

/** The declarative topic list; `{type}` names expand over resource types given at resolution. */
export interface TopicList {
  readonly defaults: Required<Omit<TopicSpec, 'name'>>;
  readonly topics: readonly TopicSpec[];
}

export interface ResolvedTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string>>;
}

/** Reads and checks a topic list file; every problem is listed in one `CONFIG_INVALID` error. */
export function loadTopicList(path: string): TopicList {
  return parseTopicList(JSON.parse(readFileSync(path, 'utf8')) as unknown);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isPositiveInt = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
const isStringMap = (v: unknown) => isObject(v) && Object.values(v).every((x) => typeof x === 'string');

/** Checks the shape of a parsed topic list (the file is configuration: fail at start, not mid-way). */
export function parseTopicList(data: unknown): TopicList {
  const problems: string[] = [];
  const root = isObject(data) ? data : {};
  if (!isObject(data)) problems.push('root: expected an object');
  const defaults = isObject(root.defaults) ? root.defaults : {};
  if (!isPositiveInt(defaults.partitions)) problems.push('defaults.partitions: expected a positive integer');
  if (!isPositiveInt(defaults.replicationFactor))
    problems.push('defaults.replicationFactor: expected a positive integer');
  if (!isStringMap(defaults.config)) problems.push('defaults.config: expected an object of strings');
  if (root.resourceTypes !== undefined) {
    problems.push('resourceTypes: no longer read; resource types come from the contracts in schemas/fhir/');
  }
  if (!Array.isArray(root.topics)) problems.push('topics: expected an array');
  for (const [i, t] of (Array.isArray(root.topics) ? root.topics : []).entries()) {
    const spec: Record<string, unknown> = isObject(t) ? t : {};
    if (typeof spec.name !== 'string' || spec.name.length === 0)
      problems.push(`topics[${i}].name: expected a string`);
    if (spec.partitions !== undefined && !isPositiveInt(spec.partitions)) {
      problems.push(`topics[${i}].partitions: expected a positive integer`);
    }
    if (spec.replicationFactor !== undefined && !isPositiveInt(spec.replicationFactor)) {
      problems.push(`topics[${i}].replicationFactor: expected a positive integer`);
    }
    if (spec.config !== undefined && !isStringMap(spec.config))
      problems.push(`topics[${i}].config: expected an object of strings`);
  }
  if (problems.length > 0) {
    throw new PipelineError('CONFIG_INVALID', `Topic list is invalid: ${problems.join('; ')}`, {
      context: { problems: problems.length },
    });
  }
  return data as TopicList;
}

/**
 * Expands `{type}` templates over `resourceTypes` (the contracted types of the pipeline manifest)
 * and applies defaults, so every topic is fully specified.
 */
export function resolveTopics(list: TopicList, resourceTypes: readonly string[]): ResolvedTopic[] {
  const out: ResolvedTopic[] = [];
  for (const spec of list.topics) {
    const names = spec.name.includes('{type}')
      ? resourceTypes.map((t) => spec.name.replace('{type}', t))
      : [spec.name];
    for (const name of names) {
      out.push({
        name,
        partitions: spec.partitions ?? list.defaults.partitions,
        replicationFactor: spec.replicationFactor ?? list.defaults.replicationFactor,
        config: { ...list.defaults.config, ...spec.config },
      });
    }
  }
  return out;
}

export interface EnsureTopicsResult {
  readonly created: string[];
  readonly updated: string[];
  readonly unchanged: string[];
}

/**
 * Makes the cluster match the list: creates missing topics, adds partitions where the list asks for
 * more (Kafka cannot remove them), and re-applies configs. Safe to run any number of times.
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly ResolvedTopic[],
): Promise<EnsureTopicsResult> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((t) => !existing.has(t.name));
  const present = topics.filter((t) => existing.has(t.name));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.name,
        numPartitions: t.partitions,
        replicationFactor: t.replicationFactor,
        configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
      })),
    });
  }
  const updated: string[] = [];
  if (present.length > 0) {
    const meta = await admin.fetchTopicMetadata({ topics: present.map((t) => t.name) });
    const grow = present.filter((t) => {
      const current = meta.topics.find((m) => m.name === t.name)?.partitions.length ?? 0;
      return current < t.partitions;
    });
    if (grow.length > 0) {
      await admin.createPartitions({
        topicPartitions: grow.map((t) => ({ topic: t.name, count: t.partitions })),
      });
    }
    await admin.alterConfigs({
      validateOnly: false,
      resources: present.map((t) => ({
        // ConfigResourceTypes.TOPIC: kafkajs is CommonJS and Node's ESM loader cannot see that name.
        type: 2,
        name: t.name,
        configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
      })),
    });
    updated.push(...grow.map((t) => t.name));
  }
  return {
    created: missing.map((t) => t.name),
    updated,
    unchanged: present.map((t) => t.name).filter((n) => !updated.includes(n)),
  };
}
