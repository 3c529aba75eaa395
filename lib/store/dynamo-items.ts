import { unmarshall } from '@aws-sdk/util-dynamodb';

/**
 * An item as the document client returns it, or in DynamoDB's low-level format (the form a
 * ConditionalCheckFailedException or a transaction's cancellation reason carries the old
 * item in): always the plain form.
 */
export function unmarshallItem(item: Record<string, unknown>): Record<string, unknown> {
  const values = Object.values(item);
  const lowLevel = values.some(
    (v) => typeof v === 'object' && v !== null && ('S' in v || 'N' in v || 'B' in v),
  );
  // biome-ignore lint/suspicious/noExplicitAny: the SDK's AttributeValue map
  return lowLevel ? unmarshall(item as any) : item;
}
