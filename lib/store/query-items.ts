import {
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { mapAwsError } from './aws-errors.js';

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
    let page: QueryCommandOutput;
    try {
      page = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    } catch (error) {
      throw mapAwsError(error, action);
    }
    yield* page.Items ?? [];
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
}
