import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { request } from './aws-errors.js';

/**
 * Every item a query matches, page after page (DynamoDB answers at most 1 MB a page). The
 * caller may stop early; no further page is read then. An AWS error is mapped with `action`
 * naming what was being done.
 */
export async function* queryItems(
  doc: DynamoDBDocumentClient,
  input: Omit<QueryCommandInput, 'ExclusiveStartKey'>,
  action: string,
): AsyncGenerator<Record<string, unknown>> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await request(action, () =>
      doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start })),
    );
    yield* page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}

/** How `partitionItems` reads: strongly consistent or not, and which attributes. */
export interface PartitionRead {
  /** A strongly consistent read (twice the read units); the default is eventually consistent. */
  consistent?: boolean;
  /** Only these attributes (a ProjectionExpression), e.g. 'pk, sk' to delete by key. */
  projection?: string;
}

/** Every item under one partition key `pk` of `table`, page after page (see `queryItems`). */
export function partitionItems(
  doc: DynamoDBDocumentClient,
  table: string,
  pk: string,
  action: string,
  read: PartitionRead = {},
): AsyncGenerator<Record<string, unknown>> {
  return queryItems(
    doc,
    {
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
      ...(read.consistent === true ? { ConsistentRead: true } : {}),
      ...(read.projection === undefined ? {} : { ProjectionExpression: read.projection }),
    },
    action,
  );
}
