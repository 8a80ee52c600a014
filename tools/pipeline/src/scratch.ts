import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Admin } from '@ehrflow/kafka';
import { waitFor } from '@ehrflow/testing';
import { canonicalText, findSchemasDir, type SchemaRegistry } from '@ehrflow/contracts';

/**
 * Temporary topics and subjects of one benchmark run, removed by `cleanUp` whatever happened.
 * Names carry the run id, so runs and other users of the shared broker never meet.
 */
export interface Scratch {
  readonly topics: string[];
  readonly subjects: string[];
  createTopics(names: readonly string[], partitions: number): Promise<void>;
  /** Registers the schema file (relative to `schemas/`) under `<topic>-value` for each topic. */
  registerValueSchema(topics: readonly string[], schemaFile: string): Promise<void>;
  cleanUp(): Promise<void>;
}

export function createScratch(admin: Admin, registry: SchemaRegistry): Scratch {
  const topics: string[] = [];
  const subjects: string[] = [];
  return {
    topics,
    subjects,
    async createTopics(names, partitions) {
      await admin.createTopics({
        topics: names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
        waitForLeaders: false,
      });
      topics.push(...names);
      // kafkajs' own leader wait gives up on "does not host this topic-partition" while a new
      // topic propagates; wait on the metadata instead.
      await waitFor(
        async () => {
          try {
            const { topics: meta } = await admin.fetchTopicMetadata({ topics: [...names] });
            return meta.every(
              (t) => t.partitions.length === partitions && t.partitions.every((p) => p.leader >= 0),
            );
          } catch {
            return false;
          }
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'new topics to have leaders' },
      );
    },
    async registerValueSchema(names, schemaFile) {
      const text = await readFile(join(findSchemasDir(), schemaFile), 'utf8');
      const canonical = canonicalText(JSON.parse(text));
      for (const topic of names) {
        const subject = `${topic}-value`;
        await registry.register(subject, canonical);
        subjects.push(subject);
      }
    },
    async cleanUp() {
      if (topics.length > 0) await admin.deleteTopics({ topics: [...topics] }).catch(() => undefined);
      for (const subject of subjects) await registry.deleteSubject(subject).catch(() => undefined);
      topics.length = 0;
      subjects.length = 0;
    },
  };
}

/** Records stored in a topic (high minus low watermark, summed); exact without transaction markers. */
export async function topicRecordCount(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
}
