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
