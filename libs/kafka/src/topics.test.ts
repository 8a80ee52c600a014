import { describe, expect, it } from 'vitest';
import { parseTopicList, resolveTopics, type TopicList } from './topics.ts';

const list: TopicList = {
  defaults: { partitions: 3, replicationFactor: 1, config: { 'retention.ms': '1000' } },
  topics: [
    { name: 'ehr.raw', config: { 'max.message.bytes': '2097152' } },
    { name: 'ehr.valid.{type}' },
    { name: 'ehr.jobs', partitions: 1 },
  ],
};

describe('topic list', () => {
  it('expands {type} templates and applies defaults', () => {
    expect(resolveTopics(list, ['Patient', 'Encounter'])).toEqual([
      {
        name: 'ehr.raw',
        partitions: 3,
        replicationFactor: 1,
        config: { 'retention.ms': '1000', 'max.message.bytes': '2097152' },
      },
      { name: 'ehr.valid.Patient', partitions: 3, replicationFactor: 1, config: { 'retention.ms': '1000' } },
      {
        name: 'ehr.valid.Encounter',
        partitions: 3,
        replicationFactor: 1,
        config: { 'retention.ms': '1000' },
      },
      { name: 'ehr.jobs', partitions: 1, replicationFactor: 1, config: { 'retention.ms': '1000' } },
    ]);
  });

  it('accepts a well-formed list and lists every problem of a bad one', () => {
    expect(parseTopicList(JSON.parse(JSON.stringify(list)))).toEqual(list);
    let caught: unknown;
    try {
      parseTopicList({
        defaults: { partitions: 0, replicationFactor: 1, config: {} },
        resourceTypes: 'Patient',
        topics: [{ partitions: 2 }, { name: 'x', config: { a: 1 } }],
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'CONFIG_INVALID', context: { problems: 4 } });
    expect((caught as Error).message).toContain('defaults.partitions');
    expect((caught as Error).message).toContain('resourceTypes');
    expect((caught as Error).message).toContain('topics[0].name');
    expect((caught as Error).message).toContain('topics[1].config');
  });
});
