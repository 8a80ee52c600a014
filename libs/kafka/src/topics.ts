import { readFileSync } from 'node:fs';
import type { Admin } from 'kafkajs';

/** One topic as the declarative list describes it; `{type}` in a name expands per resource type. */
export interface TopicSpec {
  readonly name: string;
  readonly partitions?: number;
  readonly replicationFactor?: number;
  readonly config?: Readonly<Record<string, string>>;
}

export interface TopicList {
  readonly defaults: Required<Omit<TopicSpec, 'name'>>;
  readonly resourceTypes: readonly string[];
  readonly topics: readonly TopicSpec[];
}

export interface ResolvedTopic {
  readonly name: string;
  readonly partitions: number;
  readonly replicationFactor: number;
  readonly config: Readonly<Record<string, string>>;
}

export function loadTopicList(path: string): TopicList {
  return JSON.parse(readFileSync(path, 'utf8')) as TopicList;
}

/** Expands `{type}` templates and applies defaults, so every topic is fully specified. */
export function resolveTopics(list: TopicList): ResolvedTopic[] {
  const out: ResolvedTopic[] = [];
  for (const spec of list.topics) {
    const names = spec.name.includes('{type}')
      ? list.resourceTypes.map((t) => spec.name.replace('{type}', t))
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
export async function ensureTopics(admin: Admin, topics: readonly ResolvedTopic[]): Promise<EnsureTopicsResult> {
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
      await admin.createPartitions({ topicPartitions: grow.map((t) => ({ topic: t.name, count: t.partitions })) });
    }
    await admin.alterConfigs({
      validateOnly: false,
      resources: present.map((t) => ({
        type: 2, // ConfigResourceTypes.TOPIC
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
