import { CreateTopicCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker, createStores } from '../../../lib/broker/broker.js';
import { ManualClock } from '../../../lib/broker/clock.js';
import {
  createDispatcher,
  type Dispatcher,
  type DispatcherOptions,
  FAILURE_HEADERS,
} from '../../../lib/broker/dispatcher.js';
import { type LambdaHandler, LocalFunctions } from '../../../lib/local/lambda-endpoint.js';
import { type ApiServer, startApiServer } from '../../../lib/local/server.js';
import type { SelfManagedKafkaEvent } from '../../../lib/log/lambda-kafka-event.js';
import type { InvocationRecord } from '../../../lib/log/on-failure-record.js';
import type { SubscriptionInput } from '../../../lib/log/subscription-config.js';
import {
  AwsFailureDestinationStore,
  createFailureDestinationClients,
  type FailureDestinationClients,
} from '../../../lib/store/failure-destination-store.js';
import { LambdaFunctionInvoker } from '../../../lib/store/function-invoker.js';
import { createLambdaClient } from '../../../lib/store/lambda-client.js';
import { testClients, testNames, uniqueName } from '../../helpers/aws.js';
import { FaultInjector } from '../../helpers/faults.js';
import { MOTO_ACCOUNT, type MotoServer, startMoto } from '../../helpers/moto.js';
import { produceValues, readAll, subscribeFunction } from './helpers.js';

/**
 * SQS and SNS on-failure destinations, against moto's server (the real protocols, through the
 * real SDK clients), with consumer functions behind the local Invoke endpoint as in
 * dispatcher.test.ts. Times that matter (record ages, retention) run on a ManualClock that the
 * dispatcher's backoff sleeps move forward: nothing here waits for real time to pass.
 */

const FAST: DispatcherOptions = {
  backoff: { baseMs: 2, maxMs: 10 },
  pollIntervalMs: 20,
  sessionTimeoutMs: 10_000,
  log: () => {},
};
const BOOTSTRAP = 'eventlog.test:9092';

let moto: MotoServer;
let functions: LocalFunctions;
let server: ApiServer;
let motoClients: FailureDestinationClients & { destroy(): void };
/** The broker the dispatchers use: its SQS/SNS destinations are moto's. */
let broker: Broker;
const dispatchers: Dispatcher[] = [];

beforeAll(async () => {
  moto = await startMoto();
  motoClients = moto.destinationClients({ maxAttempts: 1 });
  broker = brokerWith(new AwsFailureDestinationStore(motoClients));
  functions = new LocalFunctions({ log: () => {} });
  server = await startApiServer({ broker, clusterId: 'test', functions, validateResponses: true });
});

afterAll(async () => {
  for (const d of dispatchers) d.close();
  await server?.close();
  await moto?.stop();
});

function brokerWith(failureDestinations?: AwsFailureDestinationStore): Broker {
  return createBroker(
    createStores(
      testClients(),
      testNames(),
      failureDestinations === undefined ? {} : { failureDestinations },
    ),
  );
}

function dispatcher(options: DispatcherOptions = {}, over: Broker = broker): Dispatcher {
  const invoker = new LambdaFunctionInvoker(
    createLambdaClient({ endpoint: server.url, maxAttempts: 1 }),
  );
  const d = createDispatcher(over, invoker, {
    ...FAST,
    bootstrapServers: BOOTSTRAP,
    ...options,
  });
  dispatchers.push(d);
  return d;
}

/** A consumer function; `behave` may throw. Returns the values of each invocation. */
function consumer(behave: (values: string[], calls: string[][]) => unknown = () => undefined) {
  const name = uniqueName('fn');
  const calls: string[][] = [];
  const handler: LambdaHandler = async (event) => {
    const records = Object.values((event as SelfManagedKafkaEvent).records).flat();
    const values = records.map((r) => Buffer.from(r.value ?? '', 'base64').toString('utf8'));
    calls.push(values);
    return behave(values, calls);
  };
  functions.register({ name, handler });
  return { name, calls };
}

const poisonous = () =>
  consumer((values) => {
    if (values.includes('poison')) throw new Error('cannot parse poison');
  });

async function topicWith(configs: Record<string, string> = {}): Promise<string> {
  const topic = uniqueName('dest');
  await broker.topics.create({ name: topic, partitions: 1, configs });
  return topic;
}

function produce(topic: string, values: string[], timestamp?: number) {
  return produceValues(broker, topic, values, timestamp === undefined ? {} : { timestamp });
}

function subscribe(
  topic: string,
  functionName: string,
  destination: string,
  settings: Partial<SubscriptionInput> = {},
): Promise<string> {
  return subscribeFunction(broker, topic, functionName, {
    destinationConfig: { onFailure: { destination } },
    ...settings,
  });
}

async function drain(d: Dispatcher, subscription: string, ownArn?: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const report = await d.run({ subscription, ...(ownArn === undefined ? {} : { ownArn }) });
    if (report.partitions.every((p) => p.invocations === 0 && p.outcome !== 'stopped')) return;
  }
  throw new Error('the dispatcher did not catch up');
}

async function committed(subscription: string): Promise<number | undefined> {
  return (await broker.groups.committed(subscription))[0]?.committed;
}

/** A queue in moto; its ARN is what a subscription names. */
async function queue(
  region = 'us-east-1',
  options: { fifo?: boolean } = {},
): Promise<{ arn: string; url: string; sqs: SQSClient }> {
  const name = `${uniqueName('q')}${options.fifo === true ? '.fifo' : ''}`;
  const sqs = moto.sqs(region);
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      ...(options.fifo === true ? { Attributes: { FifoQueue: 'true' } } : {}),
    }),
  );
  return {
    arn: `arn:aws:sqs:${region}:${MOTO_ACCOUNT}:${name}`,
    url: created.QueueUrl as string,
    sqs,
  };
}

/** Every message the queue holds now (moto delivers SNS to SQS before Publish answers). */
async function receiveAll(
  target: { url: string; sqs: SQSClient },
  attributes: string[] = [],
): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const page = await target.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: target.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 300,
        ...(attributes.length === 0
          ? {}
          : {
              MessageSystemAttributeNames: attributes as never,
              AttributeNames: attributes as never,
            }),
      }),
    );
    if ((page.Messages ?? []).length === 0) return messages;
    messages.push(...(page.Messages ?? []));
  }
}

const recordOf = (message: Message | undefined): InvocationRecord =>
  JSON.parse(message?.Body ?? 'null') as InvocationRecord;

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('SQS and SNS on-failure destinations', () => {
  const savedEnv = { ...process.env };
  afterEach(() => {
    for (const key of ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_SNS', 'AWS_ENDPOINT_URL']) {
      if (savedEnv[key] === undefined) delete process.env[key];
      else process.env[key] = savedEnv[key];
    }
  });

  it("with bisect, isolates a poison record, delivers the rest, and sends Lambda's invocation record to an SQS queue", async () => {
    const topic = await topicWith();
    const dlq = await queue();
    const values = ['r0', 'r1', 'r2', 'r3', 'r4', 'poison', 'r6', 'r7'];
    const produced = await produce(topic, values);
    const fn = poisonous();
    const sub = await subscribe(topic, fn.name, dlq.arn, {
      batchSize: 8,
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 1,
    });
    await drain(dispatcher(), sub);

    const delivered = fn.calls.filter((c) => !c.includes('poison')).flat();
    expect(delivered).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r6', 'r7']);
    expect(await committed(sub)).toBe(8);

    const messages = await receiveAll(dlq);
    expect(messages).toHaveLength(1);
    const record = recordOf(messages[0]);
    const timestamp = produced.records[5]?.timestamp as number;
    expect(record.requestContext).toEqual({
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      functionArn: fn.name,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 2,
    });
    expect(record.responseContext).toEqual({
      statusCode: 200,
      executedVersion: '$LATEST',
      functionError: 'Unhandled',
    });
    expect(record.version).toBe('1.0');
    expect(record.timestamp).toMatch(ISO);
    expect(record.KafkaBatchInfo).toEqual({
      batchSize: 1,
      bootstrapServers: BOOTSTRAP,
      payloadSize: expect.any(Number),
      recordsInfo: {
        [`${topic}-0`]: {
          firstRecordOffset: '5',
          lastRecordOffset: '5',
          firstRecordTimestamp: new Date(timestamp).toISOString(),
          lastRecordTimestamp: new Date(timestamp).toISOString(),
        },
      },
    });
    // The event the poison record made alone: envelope plus the record, a few hundred bytes.
    expect(record.KafkaBatchInfo.payloadSize).toBeGreaterThan(100);
    expect(record.KafkaBatchInfo.payloadSize).toBeLessThan(1000);
    expect(record.eventlog).toEqual({
      subscription: sub,
      consumerGroupId: sub,
      topic,
      partition: 0,
      firstOffset: 5,
      lastOffset: 5,
      reason: 'failed 2 time(s); maximumRetryAttempts is 1',
      lastError: expect.stringContaining('cannot parse poison'),
    });
    // Metadata only, as Lambda sends to SQS: the record itself stays in the topic.
    expect(messages[0]?.Body).not.toContain(Buffer.from('poison').toString('base64'));
  });

  it('publishes the invocation record to an SNS topic in the region of its ARN', async () => {
    const region = 'eu-west-1';
    const sns = moto.sns(region);
    const snsTopic = await sns.send(new CreateTopicCommand({ Name: uniqueName('failures') }));
    const inbox = await queue(region);
    await sns.send(
      new SubscribeCommand({
        TopicArn: snsTopic.TopicArn,
        Protocol: 'sqs',
        Endpoint: inbox.arn,
      }),
    );
    const topic = await topicWith();
    await produce(topic, ['a', 'poison', 'b']);
    const fn = poisonous();
    const sub = await subscribe(topic, fn.name, snsTopic.TopicArn as string, {
      bisectBatchOnFunctionError: true,
      maximumRetryAttempts: 0,
    });
    // As on AWS: the dispatcher's own ARN completes the consumer's, named without one.
    await drain(
      dispatcher(),
      sub,
      'arn:aws:lambda:eu-west-1:123456789012:function:eventlog-dispatch',
    );

    expect(fn.calls.filter((c) => !c.includes('poison')).flat()).toEqual(['a', 'b']);
    const messages = await receiveAll(inbox);
    expect(messages).toHaveLength(1);
    // The SQS subscription receives SNS's notification envelope around the message.
    const envelope = JSON.parse(messages[0]?.Body ?? '{}') as {
      Type: string;
      TopicArn: string;
      Message: string;
    };
    expect(envelope.Type).toBe('Notification');
    expect(envelope.TopicArn).toBe(snsTopic.TopicArn);
    const record = JSON.parse(envelope.Message) as InvocationRecord;
    expect(record.requestContext).toMatchObject({
      functionArn: `arn:aws:lambda:eu-west-1:123456789012:function:${fn.name}`,
      condition: 'RetryAttemptsExhausted',
      approximateInvokeCount: 1,
    });
    expect(record.KafkaBatchInfo.recordsInfo[`${topic}-0`]).toMatchObject({
      firstRecordOffset: '1',
      lastRecordOffset: '1',
    });
    expect(record.eventlog).toMatchObject({ topic, partition: 0, consumerGroupId: sub });
    expect(await committed(sub)).toBe(3);
  });

  it('gives a FIFO queue one message group per partition', async () => {
    const topic = await topicWith();
    const dlq = await queue('us-east-1', { fifo: true });
    await produce(topic, ['poison']);
    const fn = poisonous();
    const sub = await subscribe(topic, fn.name, dlq.arn, { maximumRetryAttempts: 0 });
    await drain(dispatcher(), sub);
    const messages = await receiveAll(dlq, ['MessageGroupId']);
    expect(messages).toHaveLength(1);
    expect(messages[0]?.Attributes?.MessageGroupId).toBe(`${topic}-0`);
    expect(recordOf(messages[0]).eventlog.firstOffset).toBe(0);
  });

  it('keeps the records in place when the send fails, and sends them on the next run', async () => {
    const faults = new FaultInjector();
    const clients = moto.destinationClients({ maxAttempts: 1 });
    faults.attach(clients.sqs('us-east-1'));
    const failing = brokerWith(new AwsFailureDestinationStore(clients));
    const topic = await topicWith();
    const dlq = await queue();
    await produce(topic, ['a', 'b', 'poison', 'c']);
    const fn = poisonous();
    const sub = await subscribe(topic, fn.name, dlq.arn, {
      batchSize: 1,
      maximumRetryAttempts: 0,
    });

    faults.add({ command: 'SendMessage', action: 'serverError', times: Number.POSITIVE_INFINITY });
    const lines: string[] = [];
    const first = await dispatcher({ log: (line) => lines.push(line) }, failing).run({
      subscription: sub,
    });
    expect(faults.fired({ command: 'SendMessage' })).toBeGreaterThan(0);
    expect(first.partitions[0]?.outcome).toBe('stopped');
    expect(first.partitions[0]?.error).toMatch(/Sending to the on-failure SQS queue .* failed/);
    expect(lines.join('\n')).toMatch(/stopped: Sending to the on-failure SQS queue/);
    // Nothing skipped: the poison record and the one after it wait; the queue is empty.
    expect(await committed(sub)).toBe(2);
    expect(fn.calls.flat()).toEqual(['a', 'b', 'poison']);
    expect(await receiveAll(dlq)).toEqual([]);

    faults.reset();
    await drain(dispatcher({}, failing), sub);
    expect(await committed(sub)).toBe(3 + 1);
    expect(fn.calls.flat()).toEqual(['a', 'b', 'poison', 'poison', 'c']);
    const messages = await receiveAll(dlq);
    expect(messages).toHaveLength(1);
    expect(recordOf(messages[0]).eventlog).toMatchObject({ firstOffset: 2, lastOffset: 2 });
    faults.detachAll();
    clients.destroy();
  });

  it('on the local server, accepts the subscription without an SQS endpoint, says what to set, and sends once AWS_ENDPOINT_URL_SQS points at one', async () => {
    for (const key of ['AWS_ENDPOINT_URL_SQS', 'AWS_ENDPOINT_URL_SNS', 'AWS_ENDPOINT_URL']) {
      delete process.env[key];
    }
    const clients = createFailureDestinationClients({ requireEndpoint: true, maxAttempts: 1 });
    const local = brokerWith(new AwsFailureDestinationStore(clients));
    const topic = await topicWith();
    const dlq = await queue();
    await produce(topic, ['poison']);
    const fn = poisonous();
    const sub = await subscribe(topic, fn.name, dlq.arn, { maximumRetryAttempts: 0 });

    const lines: string[] = [];
    const report = await dispatcher({ log: (line) => lines.push(line) }, local).run({
      subscription: sub,
    });
    expect(report.partitions[0]?.outcome).toBe('stopped');
    expect(report.partitions[0]?.error).toMatch(/set AWS_ENDPOINT_URL_SQS/);
    expect(lines.join('\n')).toMatch(/stopped: .*AWS_ENDPOINT_URL_SQS/);
    // Nothing committed: the group has no offset yet, and the record waits at 0.
    expect(await committed(sub)).toBeUndefined();
    expect(fn.calls).toEqual([['poison']]);

    // The SDK reads the variable itself: the client made now goes to moto.
    process.env['AWS_ENDPOINT_URL_SQS'] = moto.endpoint;
    await drain(dispatcher({}, local), sub);
    expect(await committed(sub)).toBe(1);
    const messages = await receiveAll(dlq);
    expect(messages).toHaveLength(1);
    expect(recordOf(messages[0]).requestContext.condition).toBe('RetryAttemptsExhausted');
    clients.destroy();
  });
});

describe('maximumRetryAttempts -1: until the record expires', () => {
  /**
   * A dispatcher whose backoff sleeps move the clock instead of waiting. A sleep never outlasts
   * the run's work budget (real time), so the budget is set long enough not to cut them.
   */
  function timeTravelling(clock: ManualClock, options: DispatcherOptions = {}): Dispatcher {
    return dispatcher({
      clock,
      sleep: async (ms) => clock.advance(ms),
      workBudgetMs: 86_400_000,
      ...options,
    });
  }

  it('retries beyond 10 with a destination, and gives up shortly before retention would delete the record', async () => {
    const clock = new ManualClock(Date.now());
    const hour = 3_600_000;
    const topic = await topicWith({ 'retention.ms': String(hour) });
    const dlq = await queue();
    const producedAt = clock.now();
    await produce(topic, ['poison', 'next'], producedAt);
    const fn = poisonous();
    const sub = await subscribe(topic, fn.name, dlq.arn, { batchSize: 1 });
    const lines: string[] = [];
    // 2.5 to 5 minutes between attempts: at least 11 retries before the 54th minute.
    await timeTravelling(clock, {
      backoff: { baseMs: 300_000, maxMs: 300_000 },
      log: (line) => lines.push(line),
    }).run({ subscription: sub });

    const poisonCalls = fn.calls.filter((c) => c.includes('poison')).length;
    expect(poisonCalls).toBeGreaterThan(11);
    expect(fn.calls.at(-1)).toEqual(['next']);
    expect(await committed(sub)).toBe(2);
    expect(lines.join('\n')).toMatch(
      /retrying \(maximumRetryAttempts -1: retried until the record expires\)/,
    );

    const messages = await receiveAll(dlq);
    expect(messages).toHaveLength(1);
    const record = recordOf(messages[0]);
    expect(record.requestContext.condition).toBe('RecordAgeExceeded');
    expect(record.requestContext.approximateInvokeCount).toBe(poisonCalls);
    expect(record.eventlog.reason).toMatch(
      /would expire by retention: the topic's retention.ms \(3600000\) deletes it within 360000 ms/,
    );
    // Given up at the margin: 10% of retention.ms before retention may delete it, not after.
    const age = Date.parse(record.timestamp) - producedAt;
    expect(age).toBeGreaterThanOrEqual(hour - 360_000);
    expect(age).toBeLessThan(hour);
  });

  it('retries forever when the topic keeps records forever and no age limit is set', async () => {
    const clock = new ManualClock(Date.now());
    const topic = await topicWith({ 'retention.ms': '-1' });
    const dlq = await queue();
    const producedAt = clock.now();
    await produce(topic, ['flaky'], producedAt);
    // Fails 25 times (far past the 10 retries Lambda allows with a destination, over days of
    // backoff), then recovers.
    const fn = consumer((_values, calls) => {
      if (calls.length <= 25) throw new Error(`down (${calls.length})`);
    });
    const sub = await subscribe(topic, fn.name, dlq.arn);
    const lines: string[] = [];
    await timeTravelling(clock, {
      backoff: { baseMs: 86_400_000, maxMs: 60 * 86_400_000 },
      log: (line) => lines.push(line),
    }).run({ subscription: sub });

    expect(fn.calls).toHaveLength(26);
    expect(clock.now() - producedAt).toBeGreaterThan(5 * 86_400_000);
    expect(await committed(sub)).toBe(1);
    expect(await receiveAll(dlq)).toEqual([]);
    const retries = lines.filter((l) => /attempt \d+ from offset 0 failed/.test(l));
    expect(retries).toHaveLength(25);
    expect(retries[24]).toMatch(/retried until the function succeeds/);
  });

  it('still gives up at maximumRecordAgeInSeconds, never sleeping past it', async () => {
    const clock = new ManualClock(Date.now());
    const topic = await topicWith({ 'retention.ms': '-1' });
    const dlq = await queue();
    const producedAt = clock.now();
    await produce(topic, ['poison'], producedAt);
    const fn = poisonous();
    const sub = await subscribe(topic, fn.name, dlq.arn, { maximumRecordAgeInSeconds: 60 });
    await timeTravelling(clock, { backoff: { baseMs: 45_000, maxMs: 45_000 } }).run({
      subscription: sub,
    });
    const record = recordOf((await receiveAll(dlq))[0]);
    expect(record.requestContext.condition).toBe('RecordAgeExceeded');
    expect(record.eventlog.reason).toMatch(/maximumRecordAgeInSeconds \(60 s\)/);
    expect(Date.parse(record.timestamp) - producedAt).toBe(60_001);
    expect(await committed(sub)).toBe(1);
  });
});

describe('records deleted by retention before delivery', () => {
  const hour = 3_600_000;

  /**
   * A subscription whose group stands at offset 0 (LATEST on an empty topic), and a topic whose
   * first three records retention deleted before any dispatch.
   */
  async function partlyDeleted(destination: string) {
    const topic = await topicWith({ 'retention.ms': String(hour) });
    const fn = consumer();
    const sub = await subscribe(topic, fn.name, destination, { startingPosition: 'LATEST' });
    expect(await committed(sub)).toBe(0);
    const old = Date.now() - 2 * hour;
    await produce(topic, ['old-0', 'old-1'], old);
    await produce(topic, ['old-2'], old);
    await produce(topic, ['new-3']);
    const retention = await broker.retention.runOnce({ topics: [topic] });
    expect(retention.topics[0]?.partitions[0]?.logStartOffset).toBe(3);
    return { topic, fn, sub };
  }

  it('tells an SQS destination the lost range (RecordExpired), then delivers the rest', async () => {
    const dlq = await queue();
    const { topic, fn, sub } = await partlyDeleted(dlq.arn);
    await drain(dispatcher(), sub);
    expect(fn.calls.flat()).toEqual(['new-3']);
    expect(await committed(sub)).toBe(4);
    const messages = await receiveAll(dlq);
    expect(messages).toHaveLength(1);
    const record = recordOf(messages[0]);
    expect(record.requestContext).toMatchObject({
      condition: 'RecordExpired',
      approximateInvokeCount: 0,
    });
    expect(record.responseContext).toBeNull();
    expect(record.KafkaBatchInfo.batchSize).toBe(3);
    expect(record.KafkaBatchInfo.recordsInfo).toEqual({
      [`${topic}-0`]: { firstRecordOffset: '0', lastRecordOffset: '2' },
    });
    expect(record.eventlog.reason).toMatch(/deleted by retention before delivery/);
  });

  it('writes one null record naming the range to a dead-letter topic', async () => {
    const dlqTopic = await topicWith();
    const { topic, sub } = await partlyDeleted(`kafka://${dlqTopic}`);
    await drain(dispatcher(), sub);
    const dead = await readAll(broker, dlqTopic, 0);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.value).toBeNull();
    expect(dead[0]?.key).toBeNull();
    const header = (name: string) =>
      dead[0]?.headers.find((h) => h.key === name)?.value?.toString('utf8');
    expect(header(FAILURE_HEADERS.condition)).toBe('RecordExpired');
    expect(header(FAILURE_HEADERS.topic)).toBe(topic);
    expect(header(FAILURE_HEADERS.partition)).toBe('0');
    expect(header(FAILURE_HEADERS.offset)).toBe('0');
    expect(header(FAILURE_HEADERS.lastOffset)).toBe('2');
    expect(header(FAILURE_HEADERS.subscription)).toBe(sub);
    expect(await committed(sub)).toBe(4);
  });

  it('keeps the position while the notice cannot be sent', async () => {
    const faults = new FaultInjector();
    const clients = moto.destinationClients({ maxAttempts: 1 });
    faults.attach(clients.sqs('us-east-1'));
    const failing = brokerWith(new AwsFailureDestinationStore(clients));
    const dlq = await queue();
    const { fn, sub } = await partlyDeleted(dlq.arn);
    faults.add({
      command: 'SendMessage',
      action: 'timeoutBefore',
      times: Number.POSITIVE_INFINITY,
    });
    const report = await dispatcher({}, failing).run({ subscription: sub });
    expect(report.partitions[0]?.outcome).toBe('stopped');
    expect(await committed(sub)).toBe(0);
    expect(fn.calls).toEqual([]);
    faults.reset();
    await drain(dispatcher({}, failing), sub);
    expect(await committed(sub)).toBe(4);
    expect(await receiveAll(dlq)).toHaveLength(1);
    faults.detachAll();
    clients.destroy();
  });
});
