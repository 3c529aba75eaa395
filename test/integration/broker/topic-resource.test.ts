import { beforeAll, describe, expect, it } from 'vitest';
import { TopicResource, type TopicResourceEvent } from '../../../lib/broker/topic-resource.js';
import { isEventLogError } from '../../../lib/log/errors.js';
import { testEnvironment, uniqueName } from '../../helpers/aws.js';
import { brokerForTest, produceValues, readAll } from './helpers.js';

/**
 * EventLogTopic's custom resource handler against DynamoDB Local and s3rver, with events in
 * CloudFormation's shape: every property a string, as CloudFormation sends them.
 */

const broker = brokerForTest();
const resource = new TopicResource(broker.topics);

function props(
  name: string,
  partitions: number,
  configs: Record<string, string> = {},
  removalPolicy?: 'retain' | 'destroy',
): Record<string, unknown> {
  return {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:provider',
    TopicName: name,
    Partitions: String(partitions),
    Configs: configs,
    ...(removalPolicy === undefined ? {} : { RemovalPolicy: removalPolicy }),
  };
}

const create = (p: Record<string, unknown>): TopicResourceEvent => ({
  RequestType: 'Create',
  ResourceProperties: p,
});
const update = (
  id: string,
  p: Record<string, unknown>,
  old: Record<string, unknown>,
): TopicResourceEvent => ({
  RequestType: 'Update',
  PhysicalResourceId: id,
  ResourceProperties: p,
  OldResourceProperties: old,
});
const remove = (id: string, p: Record<string, unknown>): TopicResourceEvent => ({
  RequestType: 'Delete',
  PhysicalResourceId: id,
  ResourceProperties: p,
});

async function refusal(event: TopicResourceEvent): Promise<Error> {
  const error = await resource.handle(event).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('EventLogTopic custom resource handler', () => {
  it('creates the topic with its configs; the physical id is the name', async () => {
    const name = uniqueName('cr');
    const answer = await resource.handle(create(props(name, 3, { 'retention.ms': '86400000' })));
    const topic = await broker.topics.get(name);
    expect(answer).toEqual({
      PhysicalResourceId: name,
      Data: { TopicName: name, TopicId: topic.topicId, Partitions: 3 },
    });
    expect(topic.partitions).toBe(3);
    expect(topic.config.retentionMs).toBe(86_400_000);
  });

  it('answers a replayed Create with the same topic, and refuses one with other settings', async () => {
    const name = uniqueName('cr-replay');
    const p = props(name, 2, { 'compression.type': 'lz4' });
    const first = await resource.handle(create(p));
    const again = await resource.handle(create(p));
    expect(again).toEqual(first);
    const clash = await refusal(create(props(name, 4, { 'compression.type': 'gzip' })));
    expect(isEventLogError(clash, 'TOPIC_ALREADY_EXISTS')).toBe(true);
    expect(clash.message).toContain('partitions 2, declared 4');
    expect(clash.message).toContain('compression.type lz4, declared gzip');
    expect((await broker.topics.get(name)).topicId).toBe(first.Data.TopicId);
  });

  it('updates configs to the declared ones: changed, added, and removed back to defaults', async () => {
    const name = uniqueName('cr-configs');
    const old = props(name, 1, { 'retention.ms': '3600000', 'max.message.bytes': '2048' });
    await resource.handle(create(old));
    const next = props(name, 1, { 'retention.ms': '7200000', 'retention.bytes': '1000000' });
    const answer = await resource.handle(update(name, next, old));
    expect(answer.PhysicalResourceId).toBe(name);
    const topic = await broker.topics.get(name);
    expect(topic.config.retentionMs).toBe(7_200_000);
    expect(topic.config.retentionBytes).toBe(1_000_000);
    expect(topic.config.maxMessageBytes).toBe(1_048_588);
    // Replayed: nothing left to change, same answer.
    expect(await resource.handle(update(name, next, old))).toEqual(answer);
  });

  it('raises the partition count; records stay and new partitions take records', async () => {
    const name = uniqueName('cr-up');
    const old = props(name, 2);
    const created = await resource.handle(create(old));
    await produceValues(broker, name, ['kept'], { partition: 1 });
    const answer = await resource.handle(update(name, props(name, 5), old));
    expect(answer.Data).toEqual({ TopicName: name, TopicId: created.Data.TopicId, Partitions: 5 });
    await produceValues(broker, name, ['new'], { partition: 4 });
    expect((await readAll(broker, name, 1)).map((r) => r.value?.toString())).toEqual(['kept']);
    expect((await readAll(broker, name, 4)).map((r) => r.value?.toString())).toEqual(['new']);
  });

  it('refuses fewer partitions with a clear error and changes nothing, configs included', async () => {
    const name = uniqueName('cr-down');
    const old = props(name, 4);
    await resource.handle(create(old));
    const error = await refusal(update(name, props(name, 2, { 'retention.ms': '1000' }), old));
    expect(isEventLogError(error, 'INVALID_PARTITIONS')).toBe(true);
    expect(error.message).toBe(
      `Topic "${name}" has 4 partitions and the stack declares 2: a partition count can only be increased (Kafka's rule; fewer partitions would move keys away from their records). Declare 4 or more, or give the topic a new name to replace it`,
    );
    const topic = await broker.topics.get(name);
    expect(topic.partitions).toBe(4);
    expect(topic.config.retentionMs).toBe(604_800_000);
  });

  it('refuses a bad config value or a changed commit.sequences before writing anything', async () => {
    const name = uniqueName('cr-bad');
    const old = props(name, 2, { 'commit.sequences': '1' });
    await resource.handle(create(old));
    const bad = await refusal(update(name, props(name, 3, { 'retention.ms': 'soon' }), old));
    expect(isEventLogError(bad, 'INVALID_CONFIG')).toBe(true);
    const sequences = await refusal(update(name, props(name, 3, { 'commit.sequences': '2' }), old));
    expect(sequences.message).toContain('commit.sequences');
    expect((await broker.topics.get(name)).partitions).toBe(2);
  });

  it('replaces the topic on a new name: the old one stays until its own Delete', async () => {
    const oldName = uniqueName('cr-old');
    const newName = uniqueName('cr-new');
    const old = props(oldName, 1, {}, 'destroy');
    await resource.handle(create(old));
    const answer = await resource.handle(update(oldName, props(newName, 2, {}, 'destroy'), old));
    expect(answer.PhysicalResourceId).toBe(newName);
    expect((await broker.topics.get(newName)).partitions).toBe(2);
    expect((await broker.topics.get(oldName)).partitions).toBe(1);
    // CloudFormation's cleanup then deletes the old physical id, with the old properties.
    await resource.handle(remove(oldName, old));
    const gone = await broker.topics.get(oldName).catch((e: unknown) => e);
    expect(isEventLogError(gone, 'UNKNOWN_TOPIC')).toBe(true);
  });

  it('keeps the topic on Delete by default (retain)', async () => {
    const name = uniqueName('cr-retain');
    const p = props(name, 1);
    const created = await resource.handle(create(p));
    await produceValues(broker, name, ['kept']);
    expect((await resource.handle(remove(name, p))).PhysicalResourceId).toBe(name);
    const topic = await broker.topics.get(name);
    expect(topic.topicId).toBe(created.Data.TopicId);
    expect((await readAll(broker, name, 0)).map((r) => r.value?.toString())).toEqual(['kept']);
  });

  it('deletes the topic with destroy, and answers a replayed Delete without error', async () => {
    const name = uniqueName('cr-destroy');
    const p = props(name, 1, {}, 'destroy');
    await resource.handle(create(p));
    await resource.handle(remove(name, p));
    const gone = await broker.topics.get(name).catch((e: unknown) => e);
    expect(isEventLogError(gone, 'UNKNOWN_TOPIC')).toBe(true);
    const replayed = await resource.handle(remove(name, p));
    expect(replayed.PhysicalResourceId).toBe(name);
  });

  it('never deletes a topic whose name is not the physical id (the cleanup of a failed Create)', async () => {
    const name = uniqueName('cr-foreign');
    await broker.topics.create({ name, partitions: 1 });
    const p = props(name, 3, {}, 'destroy');
    await refusal(create(p));
    await resource.handle(remove('a-failed-create-request-id', p));
    expect((await broker.topics.get(name)).partitions).toBe(1);
  });
});

describe('functions/topic-resource.ts', () => {
  let handler: (event: TopicResourceEvent) => Promise<unknown>;
  beforeAll(async () => {
    // The entry reads its resources (here, the emulators' endpoints) at module load, as in Lambda.
    Object.assign(process.env, testEnvironment().env);
    ({ handler } = (await import('../../../functions/topic-resource.js')) as unknown as {
      handler: typeof handler;
    });
  });

  it('handles Create and Delete events as the provider framework sends them', async () => {
    const name = uniqueName('cr-entry');
    const p = props(name, 2, { 'retention.ms': '60000' }, 'destroy');
    expect(await handler(create(p))).toMatchObject({
      PhysicalResourceId: name,
      Data: { TopicName: name, Partitions: 2 },
    });
    expect((await broker.topics.get(name)).config.retentionMs).toBe(60_000);
    await handler(remove(name, p));
    expect(
      isEventLogError(await broker.topics.get(name).catch((e: unknown) => e), 'UNKNOWN_TOPIC'),
    ).toBe(true);
  });
});
