import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ListTablesCommand,
} from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createTableInput, tableName } from '../../lib/local/create-resources.js';
import { TABLES } from '../../lib/store/resources.js';
import { testClients, testNames, uniqueName } from '../helpers/aws.js';

/**
 * The emulators speak the AWS protocols the way the stores rely on: what passes here is
 * what lib/store may assume of S3 and DynamoDB, locally and on LocalStack.
 */
describe('DynamoDB emulator', () => {
  it('answers and lists the tables of TABLES', async () => {
    const { dynamo } = testClients();
    const names = testNames();
    const listed: string[] = [];
    let start: string | undefined;
    do {
      const page = await dynamo.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
      listed.push(...(page.TableNames ?? []));
      start = page.LastEvaluatedTableName;
    } while (start !== undefined);
    for (const definition of TABLES) expect(listed).toContain(tableName(definition, names));
  });

  it.each(TABLES.map((definition) => [definition.id, definition] as const))(
    'has the %s table with the keys and TTL of its definition',
    async (_id, definition) => {
      const { dynamo } = testClients();
      const name = tableName(definition, testNames());
      const { Table } = await dynamo.send(new DescribeTableCommand({ TableName: name }));
      const expected = createTableInput(definition, name);
      expect(Table?.TableStatus).toBe('ACTIVE');
      expect(Table?.KeySchema).toEqual(expected.KeySchema);
      expect(Table?.AttributeDefinitions).toEqual(
        expect.arrayContaining(expected.AttributeDefinitions ?? []),
      );
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');

      const { TimeToLiveDescription } = await dynamo.send(
        new DescribeTimeToLiveCommand({ TableName: name }),
      );
      if (definition.timeToLiveAttribute === undefined) {
        expect(TimeToLiveDescription?.TimeToLiveStatus ?? 'DISABLED').toBe('DISABLED');
      } else {
        expect(TimeToLiveDescription?.TimeToLiveStatus).toMatch(/^ENABL(ED|ING)$/);
        expect(TimeToLiveDescription?.AttributeName).toBe(definition.timeToLiveAttribute);
      }
    },
  );

  it('fails a conditional put with ConditionalCheckFailedException and keeps the item', async () => {
    const { doc } = testClients();
    const TableName = testNames().logTable;
    const pk = `${uniqueName('emulator')}#0`;
    await doc.send(
      new PutCommand({
        TableName,
        Item: { pk, sk: 0, count: 1 },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    const second = doc.send(
      new PutCommand({
        TableName,
        Item: { pk, sk: 0, count: 2 },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    const error = await second.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    // What the existing item was, without another read (DynamoDB Local 1.25+).
    expect((error as ConditionalCheckFailedException).Item?.['count']).toEqual({ N: '1' });
    const { Item } = await doc.send(new GetCommand({ TableName, Key: { pk, sk: 0 } }));
    expect(Item).toEqual({ pk, sk: 0, count: 1 });
  });

  it('hands out disjoint ranges with an atomic ADD under concurrency', async () => {
    const { doc } = testClients();
    const TableName = testNames().logTable;
    const pk = `${uniqueName('emulator')}#0`;
    const ends = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const { Attributes } = await doc.send(
          new UpdateCommand({
            TableName,
            Key: { pk, sk: -1 },
            UpdateExpression: 'ADD nextOffset :n',
            ExpressionAttributeValues: { ':n': 3 },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        return Attributes?.['nextOffset'] as number;
      }),
    );
    expect(new Set(ends).size).toBe(50);
    expect(Math.max(...ends)).toBe(150);
    expect(typeof ends[0]).toBe('number');
  });
});

describe('S3 emulator', () => {
  const body = Buffer.from('0123456789abcdefghij');

  it('stores and returns an object byte for byte', async () => {
    const { s3 } = testClients();
    const Bucket = testNames().bucket;
    const Key = `emulator/${uniqueName('object')}`;
    const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: binary }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key }));
    expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(binary);
    expect(got.ContentLength).toBe(256);
  });

  it('serves ranged GETs (start-end and open-ended)', async () => {
    const { s3 } = testClients();
    const Bucket = testNames().bucket;
    const Key = `emulator/${uniqueName('ranged')}`;
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: body }));

    const middle = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=3-7' }));
    expect(await middle.Body!.transformToString()).toBe('34567');
    expect(middle.ContentRange).toBe('bytes 3-7/20');
    expect(middle.ContentLength).toBe(5);

    const tail = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=15-' }));
    expect(await tail.Body!.transformToString()).toBe('fghij');

    // A range past the end is cut at the end, as S3 does.
    const past = await s3.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=18-99' }));
    expect(await past.Body!.transformToString()).toBe('ij');
  });

  it('answers NoSuchKey for a missing object', async () => {
    const { s3 } = testClients();
    const error = await s3
      .send(new GetObjectCommand({ Bucket: testNames().bucket, Key: uniqueName('missing') }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoSuchKey);
  });

  // s3rver pages only when run with --openssl-legacy-provider (its continuation tokens are
  // DES-encrypted): this is the check that lib/local/s3-local.ts starts it that way.
  it('pages ListObjectsV2 through 2500 objects under a prefix', async () => {
    const { s3 } = testClients();
    const Bucket = testNames().bucket;
    const prefix = `emulator/${uniqueName('paging')}/`;
    const keys = Array.from({ length: 2500 }, (_, i) => `${prefix}${String(i).padStart(5, '0')}`);
    // A few other keys around the prefix must not leak into the listing.
    const neighbours = [`${prefix.slice(0, -1)}`, `${prefix.slice(0, -1)}0/x`];
    for (let i = 0; i < keys.length; i += 250) {
      await Promise.all(
        keys
          .slice(i, i + 250)
          .map((Key) => s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x' }))),
      );
    }
    await Promise.all(
      neighbours.map((Key) => s3.send(new PutObjectCommand({ Bucket, Key, Body: 'x' }))),
    );

    const listed: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket, Prefix: prefix })) {
      pages++;
      listed.push(...(page.Contents ?? []).map((o) => o.Key ?? ''));
    }
    expect(pages).toBe(3);
    expect(listed).toEqual(keys);

    // Small pages and StartAfter, as retention walks a topic's prefix oldest-first.
    const first = await s3.send(
      new ListObjectsV2Command({ Bucket, Prefix: prefix, MaxKeys: 7, StartAfter: keys[2000] }),
    );
    expect(first.Contents?.map((o) => o.Key)).toEqual(keys.slice(2001, 2008));
    expect(first.IsTruncated).toBe(true);
    const second = await s3.send(
      new ListObjectsV2Command({
        Bucket,
        Prefix: prefix,
        MaxKeys: 7,
        ContinuationToken: first.NextContinuationToken,
      }),
    );
    expect(second.Contents?.map((o) => o.Key)).toEqual(keys.slice(2008, 2015));
  });
});
