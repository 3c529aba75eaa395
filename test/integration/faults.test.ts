import {
  ConditionalCheckFailedException,
  InternalServerError,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  InvokeCommand,
  LambdaClient,
  ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { type AwsClients, destroyAwsClients } from '../../lib/store/aws-clients.js';
import { newTestClients, testClients, testNames, uniqueName } from '../helpers/aws.js';
import { FaultInjector, InjectedCrash, isInjectedCrash } from '../helpers/faults.js';

/**
 * Each fault action against the real emulators, through the real SDK. The faulty clients
 * are fresh per test; checks of what really got stored go through the shared, fault-free
 * testClients().
 */
const opened: AwsClients[] = [];
afterEach(() => {
  for (const clients of opened.splice(0)) destroyAwsClients(clients);
});

function faultyClients(maxAttempts: number): { clients: AwsClients; faults: FaultInjector } {
  const clients = newTestClients({ maxAttempts });
  opened.push(clients);
  const faults = new FaultInjector({ seed: 42 });
  faults.attach(clients.dynamo);
  faults.attach(clients.s3);
  return { clients, faults };
}

const table = () => testNames().logTable;
const bucket = () => testNames().bucket;

async function stored(pk: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await testClients().doc.send(
    new GetCommand({ TableName: table(), Key: { pk, sk: 0 }, ConsistentRead: true }),
  );
  return Item;
}

async function objectExists(Key: string): Promise<boolean> {
  try {
    await testClients().s3.send(new HeadObjectCommand({ Bucket: bucket(), Key }));
    return true;
  } catch (error) {
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
      return false;
    }
    throw error;
  }
}

function put(pk: string, value = 1, condition = false) {
  return new PutCommand({
    TableName: table(),
    Item: { pk, sk: 0, value },
    ...(condition ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}),
  });
}

describe('throttle', () => {
  it('fails the call with the real DynamoDB throttling exception and writes nothing', async () => {
    const { clients, faults } = faultyClients(1);
    const pk = uniqueName('throttle');
    faults.add({ command: 'PutItem', action: 'throttle' });

    const error = await clients.doc.send(put(pk)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    const sdkError = error as ProvisionedThroughputExceededException;
    expect(sdkError.$metadata.httpStatusCode).toBe(400);
    expect(sdkError.$metadata.attempts).toBe(1);
    expect(sdkError.$fault).toBe('client');
    expect(await stored(pk)).toBeUndefined();
    expect(faults.log).toMatchObject([
      { action: 'throttle', command: 'PutItem', client: 'DynamoDBClient', attempt: 1 },
    ]);
  });

  it('is retried and hidden by the SDK when maxAttempts leaves room', async () => {
    const { clients, faults } = faultyClients(3);
    const pk = uniqueName('throttle-retried');
    faults.add({ command: 'PutItem', action: 'throttle', times: 1 });

    const output = await clients.doc.send(put(pk));

    expect(output.$metadata.attempts).toBe(2);
    expect(faults.fired({ action: 'throttle' })).toBe(1);
    expect(await stored(pk)).toMatchObject({ pk, value: 1 });
  });

  it('reaches the caller once every attempt is throttled', async () => {
    const { clients, faults } = faultyClients(3);
    const pk = uniqueName('throttle-always');
    faults.add({ command: 'PutItem', action: 'throttle', times: Number.POSITIVE_INFINITY });

    const error = await clients.doc.send(put(pk)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect((error as ProvisionedThroughputExceededException).$metadata.attempts).toBe(3);
    expect(faults.log.map((f) => f.attempt)).toEqual([1, 2, 3]);
  });

  it('gives S3 SlowDown (503) for S3 calls', async () => {
    const { clients, faults } = faultyClients(1);
    const Key = `faults/${uniqueName('slowdown')}`;
    faults.add({ command: 'PutObject', action: 'throttle' });

    const error = await clients.s3
      .send(new PutObjectCommand({ Bucket: bucket(), Key, Body: 'x' }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(S3ServiceException);
    expect((error as S3ServiceException).name).toBe('SlowDown');
    expect((error as S3ServiceException).$metadata.httpStatusCode).toBe(503);
    expect(await objectExists(Key)).toBe(false);
  });

  it('gives Lambda TooManyRequestsException (429) without reaching any endpoint', async () => {
    // Nothing listens on port 9: the injected answer is all the client ever sees.
    const lambda = new LambdaClient({
      endpoint: 'http://127.0.0.1:9',
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const faults = new FaultInjector();
    faults.attach(lambda);
    faults.add({ command: 'Invoke', action: 'throttle' });
    faults.add({ command: 'Invoke', action: 'serverError' });
    try {
      const throttled = await lambda
        .send(new InvokeCommand({ FunctionName: 'consumer' }))
        .catch((e: unknown) => e);
      expect(throttled).toBeInstanceOf(TooManyRequestsException);
      expect((throttled as TooManyRequestsException).$metadata.httpStatusCode).toBe(429);
      const failed = await lambda
        .send(new InvokeCommand({ FunctionName: 'consumer' }))
        .catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(ServiceException);
    } finally {
      lambda.destroy();
    }
  });
});

describe('serverError', () => {
  it('fails DynamoDB calls with InternalServerError (500) and changes nothing', async () => {
    const { clients, faults } = faultyClients(1);
    const pk = uniqueName('server-error');
    await testClients().doc.send(put(pk, 1));
    faults.add({ command: 'UpdateItem', action: 'serverError' });

    const error = await clients.doc
      .send(
        new UpdateCommand({
          TableName: table(),
          Key: { pk, sk: 0 },
          UpdateExpression: 'ADD #v :one',
          ExpressionAttributeNames: { '#v': 'value' },
          ExpressionAttributeValues: { ':one': 1 },
        }),
      )
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InternalServerError);
    expect((error as InternalServerError).$fault).toBe('server');
    expect((error as InternalServerError).$metadata.httpStatusCode).toBe(500);
    expect(await stored(pk)).toMatchObject({ value: 1 });
  });

  it('fails S3 calls with InternalError (500)', async () => {
    const { clients, faults } = faultyClients(1);
    const Key = `faults/${uniqueName('internal')}`;
    await testClients().s3.send(new PutObjectCommand({ Bucket: bucket(), Key, Body: 'x' }));
    faults.add({ command: 'GetObject', action: 'serverError' });

    const error = await clients.s3
      .send(new GetObjectCommand({ Bucket: bucket(), Key }))
      .catch((e: unknown) => e);

    expect((error as S3ServiceException).name).toBe('InternalError');
    expect((error as S3ServiceException).$metadata.httpStatusCode).toBe(500);
  });
});

describe('timeoutBefore', () => {
  it('throws a TimeoutError and the request never reaches the emulator', async () => {
    const { clients, faults } = faultyClients(1);
    const pk = uniqueName('timeout');
    faults.add({ command: 'PutItem', action: 'timeoutBefore' });

    const error = await clients.doc.send(put(pk)).catch((e: unknown) => e);

    expect((error as Error).name).toBe('TimeoutError');
    expect(await stored(pk)).toBeUndefined();
  });
});

describe('loseResponse', () => {
  it('writes the item, then fails the call as if the connection dropped', async () => {
    const { clients, faults } = faultyClients(1);
    const pk = uniqueName('lost');
    faults.add({ command: 'PutItem', action: 'loseResponse' });

    const error = await clients.doc.send(put(pk)).catch((e: unknown) => e);

    expect((error as { code?: string }).code).toBe('ECONNRESET');
    expect(await stored(pk)).toMatchObject({ pk, value: 1 });
  });

  it('makes the SDK resend a conditional write, which then fails its own condition', async () => {
    const { clients, faults } = faultyClients(2);
    const pk = uniqueName('lost-conditional');
    faults.add({ command: 'PutItem', action: 'loseResponse' });

    const error = await clients.doc.send(put(pk, 1, true)).catch((e: unknown) => e);

    // Our own first attempt wrote the item: the caller sees a conflict with itself.
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect((error as ConditionalCheckFailedException).$metadata.attempts).toBe(2);
    expect(await stored(pk)).toMatchObject({ pk, value: 1 });
  });

  it('writes the S3 object, then fails the call', async () => {
    const { clients, faults } = faultyClients(1);
    const Key = `faults/${uniqueName('lost')}`;
    faults.add({ command: 'PutObject', action: 'loseResponse' });

    const error = await clients.s3
      .send(new PutObjectCommand({ Bucket: bucket(), Key, Body: 'segment' }))
      .catch((e: unknown) => e);

    expect((error as { code?: string }).code).toBe('ECONNRESET');
    expect(await objectExists(Key)).toBe(true);
  });
});

describe('crash', () => {
  it('stops a writer between two steps: the first applied, the second never sent', async () => {
    // Maximum retries: a crash is never retried.
    const { clients, faults } = faultyClients(3);
    const pk = uniqueName('crash');
    faults.add({
      command: 'PutItem',
      action: 'crash',
      when: (input) => (input['Item'] as { pk?: { S?: string } }).pk?.S === pk,
    });

    // Step 1 (reserve) goes through, step 2 (publish) "kills the process".
    await clients.doc.send(
      new UpdateCommand({
        TableName: table(),
        Key: { pk, sk: -1 },
        UpdateExpression: 'ADD nextOffset :n',
        ExpressionAttributeValues: { ':n': 5 },
      }),
    );
    const error = await clients.doc.send(put(pk)).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InjectedCrash);
    expect(isInjectedCrash(new Error('wrapped', { cause: error }))).toBe(true);
    expect(faults.log).toHaveLength(1);
    expect(faults.crashedAt).toBe('PutItem');
    expect(await stored(pk)).toBeUndefined();
    const { Item: head } = await testClients().doc.send(
      new GetCommand({ TableName: table(), Key: { pk, sk: -1 } }),
    );
    expect(head).toMatchObject({ nextOffset: 5 });

    // A dead process makes no further calls, cleanup included.
    await expect(clients.doc.send(put(uniqueName('after-crash')))).rejects.toBeInstanceOf(
      InjectedCrash,
    );
    faults.reset();
    await clients.doc.send(put(uniqueName('revived')));
  });

  it('crashAfter applies the request, then dies before seeing the answer', async () => {
    const { clients, faults } = faultyClients(3);
    const Key = `faults/${uniqueName('crash-after')}`;
    faults.add({ command: 'PutObject', action: 'crashAfter' });

    const error = await clients.s3
      .send(new PutObjectCommand({ Bucket: bucket(), Key, Body: 'x' }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InjectedCrash);
    expect(faults.log).toHaveLength(1);
    expect(await objectExists(Key)).toBe(true);
  });
});

describe('rules', () => {
  it('match by command name, list or pattern, and by a predicate on the input', async () => {
    const { clients, faults } = faultyClients(1);
    const target = uniqueName('target');
    faults.add({
      command: ['PutItemCommand', 'DeleteItem'],
      action: 'timeoutBefore',
      times: Number.POSITIVE_INFINITY,
      when: (input) => (input['Item'] as { pk?: { S?: string } }).pk?.S === target,
    });
    faults.add({ command: /^Get/, action: 'serverError' });

    await clients.doc.send(put(uniqueName('other')));
    await expect(clients.doc.send(put(target))).rejects.toMatchObject({ name: 'TimeoutError' });
    await expect(
      clients.doc.send(new GetCommand({ TableName: table(), Key: { pk: target, sk: 0 } })),
    ).rejects.toBeInstanceOf(InternalServerError);
    expect(faults.log.map((f) => `${f.action}:${f.command}`)).toEqual([
      'timeoutBefore:PutItem',
      'serverError:GetItem',
    ]);
  });

  it('count: skip some matches, fire n times, then let calls through', async () => {
    const { clients, faults } = faultyClients(1);
    faults.add({ command: 'PutItem', action: 'timeoutBefore', skip: 2, times: 2 });
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(
        await clients.doc.send(put(uniqueName('count'))).then(
          () => 'ok',
          (e: Error) => e.name,
        ),
      );
    }
    expect(outcomes).toEqual(['ok', 'ok', 'TimeoutError', 'TimeoutError', 'ok', 'ok']);
  });

  it('probability: the same seed fires on the same calls', async () => {
    const run = async (seed: number) => {
      const clients = newTestClients({ maxAttempts: 1 });
      opened.push(clients);
      const faults = new FaultInjector({ seed });
      faults.attach(clients.doc);
      faults.add({
        command: 'GetItem',
        action: 'timeoutBefore',
        probability: 0.3,
        times: Number.POSITIVE_INFINITY,
      });
      const pattern: boolean[] = [];
      for (let i = 0; i < 40; i++) {
        pattern.push(
          await clients.doc
            .send(new GetCommand({ TableName: table(), Key: { pk: 'none', sk: 0 } }))
            .then(
              () => false,
              () => true,
            ),
        );
      }
      return pattern;
    };
    const first = await run(7);
    expect(await run(7)).toEqual(first);
    expect(await run(8)).not.toEqual(first);
    const fired = first.filter(Boolean).length;
    expect(fired).toBeGreaterThan(3);
    expect(fired).toBeLessThan(25);
  });

  it('detach and rule removal stop the faults', async () => {
    const { clients, faults } = faultyClients(1);
    const removeRule = faults.add({
      command: 'PutItem',
      action: 'timeoutBefore',
      times: Number.POSITIVE_INFINITY,
    });
    await expect(clients.doc.send(put(uniqueName('rule')))).rejects.toMatchObject({
      name: 'TimeoutError',
    });
    removeRule();
    await clients.doc.send(put(uniqueName('rule-removed')));

    faults.add({ command: 'PutItem', action: 'timeoutBefore', times: Number.POSITIVE_INFINITY });
    faults.detachAll();
    await clients.doc.send(put(uniqueName('detached')));
    expect(faults.fired()).toBe(1);
  });
});
